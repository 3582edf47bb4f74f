"""n.Tec HIL bench: clocks, buses, DBC codec, nodes, trace, scenarios, rigs, reports, CLI.

The bench room. It may import ``plants`` and ``controllers`` (through the rig
configuration); they never import it (docs/architecture.md).
"""

__version__ = "0.1.0"

from hil import _lazy_imports

_lazy_imports.install()   # python-can imports asammdf when it reads or writes MF4
