"""Settings for every test of the project.

Hypothesis: no per-example deadline. A deadline is a wall-clock timing bound, and on a
loaded machine (CI neighbours, two xdist workers on two cores) an example that takes
100 ms alone takes 400 ms; speed belongs in benchmarks/. No example database in the
tree either (hypothesis keeps only its cache of source constants in the git-ignored
.hypothesis/).

Being a conftest at tests/ also makes the shared helpers there (fuzzing.py, the loaders'
fuzz suite) importable from every room.

Reports: the hil plugin's fixtures (``hil``, ``hil_check``) and the Python scenarios that
``pytest`` collects from scenarios/python write under ``--hil-report``, whose default is
the repository's reports/ (right for ``pytest scenarios/``, where this conftest is not
loaded). The project's own tests write to a temporary directory instead, removed at the
end of the session; ``--hil-report DIR`` keeps them in DIR.

Plant kernels: a test that runs ``hil run`` in this process on a short scenario would make
it choose the plain-Python kernels (plants/_jit.py plan) for every later test of the
worker; ``NTEC_HIL_PURE_PYTHON=0`` keeps the default install's compiled path (set to ``1``
outside, it still forces the fallback; tests/plants/test_compiled_path.py tests the plan
in its own interpreters).
"""

import os
import shutil
import tempfile

import pytest
from hypothesis import settings

os.environ.setdefault("NTEC_HIL_PURE_PYTHON", "0")

settings.register_profile("ntec", deadline=None, database=None)
settings.load_profile("ntec")


def _given(config: pytest.Config, option: str) -> bool:
    return any(a == option or a.startswith(option + "=") for a in config.invocation_params.args)


def pytest_configure(config: pytest.Config) -> None:
    if _given(config, "--hil-report"):
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        # An xdist worker writes into its controller's directory, which the controller
        # removes (a worker can be ended before its own cleanups run).
        config.option.hil_report = workerinput[_WORKER_KEY]
        return
    report = tempfile.mkdtemp(prefix="ntec-tests-reports-")
    config.option.hil_report = report
    config.add_cleanup(lambda: shutil.rmtree(report, ignore_errors=True))


_WORKER_KEY = "ntec_tests_hil_report"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    if not _given(node.config, "--hil-report"):
        node.workerinput[_WORKER_KEY] = node.config.option.hil_report
