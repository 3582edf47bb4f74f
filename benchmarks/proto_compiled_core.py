"""Prototype, not product: the full stack with its Python modules compiled by Cython.

    .venv/bin/python benchmarks/proto_compiled_core.py [--groups core,simpy,plant,controllers]
        [--repeat 3] [--seconds S] [--typed]

Issue 7 asks what would reach the targets pure Python cannot (25x real time, overhead
<= 1.5). This measures one candidate: the same source files compiled to C extension
modules with Cython's pure-Python mode (``cythonize -i``, no source change). It needs
Cython and a C compiler (``pip install cython``); neither is a project dependency.

It copies the repository (``git ls-files``) to a scratch directory, copies simpy there
too when ``simpy`` is in ``--groups`` (so the clock kernel is compiled as well), compiles
the chosen groups in that copy, then runs, each in a fresh process:

* ``benchmarks/trace_hash.py`` in the checkout and in the compiled copy: the hashes must be
  equal (bit-identical frames and plant samples), else the figure is worthless;
* ``benchmarks/bench_sil.py`` and ``benchmarks/bench_overhead.py`` in both, side by side.

Groups: ``core`` = hil/bus/sim.py, hil/bus/timing.py, hil/nodes/ecu.py, hil/nodes/plant.py, hil/nodes/adapters.py,
hil/bench.py, hil/e2e.py, hil/trace/core.py, hil/trace/store.py (the framework; the
per-message codec functions are generated and ``exec``-ed at run time, so they stay
bytecode); ``simpy`` = simpy/core.py, simpy/events.py; ``plant`` = plants/*.py;
``controllers`` = controllers/*.py.

By default Cython ignores the annotations (``annotation_typing=False``): the compiled
code keeps Python's float and int objects, so the results cannot differ; ``--typed``
lets Cython turn ``float`` annotations into C doubles (faster, still IEEE, but it
changes argument checking).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _workloads import ROOT, machine_line

SCRATCH = Path("/tmp/ntec_proto_compiled")
GROUPS = {
    "core": ["hil/bus/sim.py", "hil/bus/timing.py", "hil/nodes/ecu.py", "hil/nodes/plant.py", "hil/nodes/adapters.py",
             "hil/bench.py", "hil/e2e.py", "hil/trace/core.py", "hil/trace/store.py"],
    "simpy": ["simpy/core.py", "simpy/events.py"],
    "plant": ["plants/composite.py", "plants/engine.py", "plants/turbo.py",
              "plants/exhaust.py", "plants/sensors.py", "plants/driver.py",
              "plants/health.py", "plants/vehicle.py"],
    "controllers": sorted(str(p.relative_to(ROOT)) for p in (ROOT / "controllers").glob("*.py")
                          if p.name != "__init__.py"),
}


def prepare(groups: list[str], typed: bool) -> Path:
    if SCRATCH.exists():
        shutil.rmtree(SCRATCH)
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True,
                           text=True, check=True).stdout.split()
    files += [str(p.relative_to(ROOT)) for p in (ROOT / "benchmarks").glob("*.py")]
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            dst = SCRATCH / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    if "simpy" in groups:
        import simpy
        shutil.copytree(Path(simpy.__file__).parent, SCRATCH / "simpy")
    targets = [SCRATCH / f for g in groups for f in GROUPS[g]]
    directives = [] if typed else ["-X", "annotation_typing=False"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-3", "-q",
                    "-j", "2", *directives, *map(str, targets)], cwd=SCRATCH, check=True,
                   capture_output=True)
    built = sorted(p.name for p in SCRATCH.rglob("*.so") if "build" not in p.parts)
    print(f"compiled {len(built)} modules ({', '.join(groups)}) in "
          f"{time.perf_counter() - t0:.0f} s")
    return SCRATCH


def run(root: Path, script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / script), *args],
                          cwd=root, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{script} in {root} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def check_compiled(root: Path) -> None:
    probe = ("import hil.bus.sim, plants.composite, simpy.core, controllers.safety as c;"
             "print(hil.bus.sim.__file__); print(plants.composite.__file__);"
             "print(simpy.core.__file__); print(c.__file__)")
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, '{root}');"
                          + probe], cwd=root, capture_output=True, text=True, check=True).stdout
    for line in out.split():
        print(f"  loads {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default="core,simpy,plant,controllers")
    parser.add_argument("--repeat", default="3")
    parser.add_argument("--seconds", default=None)
    parser.add_argument("--typed", action="store_true")
    args = parser.parse_args()
    groups = [g for g in args.groups.split(",") if g]
    print(machine_line())
    root = prepare(groups, args.typed)
    check_compiled(root)
    hashes = {name: run(r, "trace_hash.py") for name, r in (("python", ROOT), ("compiled", root))}
    for name, text in hashes.items():
        for line in text.splitlines():
            print(f"  {name:8s} {line}")
    same = [ln.split("(")[0] for ln in hashes["python"].splitlines()] == \
           [ln.split("(")[0] for ln in hashes["compiled"].splitlines()]
    print(f"traces bit-identical: {'yes' if same else 'NO'}")
    sil = ["--repeat", args.repeat] + (["--seconds", args.seconds] if args.seconds else [])
    ovh = ["--repeat", args.repeat] + (["--seconds", args.seconds] if args.seconds else [])
    for name, r in (("python", ROOT), ("compiled", root)):
        print(f"\n[{name}] bench_sil.py {' '.join(sil)}")
        for line in run(r, "bench_sil.py", *sil).splitlines()[1:]:
            print("  " + line)
    for name, r in (("python", ROOT), ("compiled", root)):
        print(f"\n[{name}] bench_overhead.py {' '.join(ovh)}")
        for line in run(r, "bench_overhead.py", *ovh).splitlines()[1:]:
            if re.search(r"\S", line):
                print("  " + line)


if __name__ == "__main__":
    main()
