"""Property-based fault search (``hil search``): docs/search.md."""

from hil.search.engine import Candidate, SearchResult, load_search_spec, run_search
from hil.search.spec import SearchSpec, SpecError, load_spec

__all__ = ["Candidate", "SearchResult", "SearchSpec", "SpecError", "load_search_spec",
           "load_spec", "run_search"]
