"""Settings for every test of the project.

Hypothesis: no per-example deadline. A deadline is a wall-clock timing bound, and on a
loaded machine (CI neighbours, two xdist workers on two cores) an example that takes
100 ms alone takes 400 ms; speed belongs in benchmarks/. No example database in the
tree either (nothing is written under the repository by a test run).

Being a conftest at tests/ also makes the shared helpers there (fuzzing.py, the loaders'
fuzz suite) importable from every room.
"""

from hypothesis import settings

settings.register_profile("ntec", deadline=None, database=None)
settings.load_profile("ntec")
