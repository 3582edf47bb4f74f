"""Build the test FMUs from their C source (tests/plants/fmu_src/) with the machine's C
compiler and FMPy's FMI headers, once per test session, in a temporary directory."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SRC = Path(__file__).resolve().parent / "fmu_src"


def build_fmu(name: str, out_dir: Path) -> Path:
    """``out_dir/<name>.fmu`` from ``fmu_src/<name>.c`` and ``<name>.xml`` (FMI 2.0 CS)."""
    import fmpy
    from fmpy.util import create_zip_archive

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("building the test FMU needs a C compiler (cc or gcc) on PATH")
    headers = Path(fmpy.__file__).parent / "c-code"
    tree = out_dir / f"{name}_fmu"
    binaries = tree / "binaries" / fmpy.platform
    binaries.mkdir(parents=True, exist_ok=True)
    (tree / "sources").mkdir(exist_ok=True)
    shutil.copy(SRC / f"{name}.c", tree / "sources" / f"{name}.c")
    shutil.copy(SRC / f"{name}.xml", tree / "modelDescription.xml")
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wno-unused-parameter",
                    "-I", str(headers), str(SRC / f"{name}.c"), "-o",
                    str(binaries / f"{name}{fmpy.sharedLibraryExtension}"), "-lm"],
                   check=True, capture_output=True, text=True)
    fmu = out_dir / f"{name}.fmu"
    create_zip_archive(fmu, tree)
    return fmu
