"""Columnar storage of the trace: in memory, or spooled to append-only files.

A *table* is a set of columns with the same row count (frames: end time, start time,
id, dlc, sender, flags, first 8 payload bytes). Chunks arrive already columnar from the
trace's append buffers. In memory a column is a list of chunks, compacted into one array
on the first read after an append, so repeated queries cost nothing and memory is never
doubled for long. Spooled, each column is one append-only raw file (no header, native
little-endian dtype), so a query is one ``np.memmap`` of the whole column and memory stays
bounded by the append buffers, however long the run.

Sample values are stored in *blocks*: each flushed chunk of n rows x Q quantities is
written transposed (Q x n), so one quantity is contiguous inside a block and a query
reads 1/Q of the file instead of striding through all of it.

While a run is spooling, files carry a ``.partial`` suffix; :meth:`finalize` renames them
when the trace is closed, so no half-written file ever sits under a final name.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

import numpy as np

from hil.trace.files import PARTIAL

__all__ = ["Table", "Blocks"]


# column name -> (dtype, per-row shape)
ColumnSpec = dict[str, tuple[str, tuple[int, ...]]]


def _empty(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.empty((0, *shape), dtype=dtype)


class Table:
    """Append-only columns sharing one row count."""

    def __init__(self, spec: ColumnSpec, *, directory: Path | None = None, prefix: str = "",
                 n_rows: int = 0, readonly: bool = False) -> None:
        self.spec = spec
        self.n = n_rows
        self._dir = directory
        self._prefix = prefix
        self._readonly = readonly
        self._chunks: dict[str, list[np.ndarray]] = {name: [] for name in spec}
        self._files: dict[str, BinaryIO] = {}
        self._finalized = readonly
        if directory is not None and not readonly:
            for name in spec:
                # Truncate: a spool directory reused from an earlier run starts empty.
                self._files[name] = open(self._path(name, partial=True), "wb")  # noqa: SIM115

    @property
    def spooled(self) -> bool:
        return self._dir is not None

    def file_name(self, name: str) -> str:
        return f"{self._prefix}{name}.bin"

    def _path(self, name: str, *, partial: bool) -> Path:
        assert self._dir is not None
        return self._dir / (self.file_name(name) + (PARTIAL if partial else ""))

    def append(self, arrays: dict[str, np.ndarray]) -> None:
        n = None
        for name, (dtype, shape) in self.spec.items():
            arr = np.ascontiguousarray(arrays[name], dtype=dtype)
            if arr.shape[1:] != shape or (n is not None and arr.shape[0] != n):
                raise ValueError(f"column {name}: shape {arr.shape} does not fit")
            n = arr.shape[0]
            if self._files:
                self._files[name].write(arr.tobytes())
            else:
                self._chunks[name].append(arr)
        self.n += n or 0

    def column(self, name: str) -> np.ndarray:
        """The whole column: an array (memory) or a read-only memmap (spool)."""
        dtype, shape = self.spec[name]
        if self._dir is None:
            chunks = self._chunks[name]
            if not chunks:
                return _empty(dtype, shape)
            if len(chunks) > 1:
                chunks[:] = [np.concatenate(chunks)]
            return chunks[0]
        if self.n == 0:
            return _empty(dtype, shape)
        f = self._files.get(name)
        if f is not None:
            f.flush()
        path = self._path(name, partial=not self._finalized)
        return np.memmap(path, dtype=dtype, mode="r", shape=(self.n, *shape))

    def nbytes_per_row(self) -> int:
        return sum(np.dtype(d).itemsize * int(np.prod(s, dtype=np.int64))
                   for d, s in self.spec.values())

    def memory_bytes(self) -> int:
        """Bytes held in memory by the columns (0 when spooled)."""
        return sum(a.nbytes for chunks in self._chunks.values() for a in chunks)

    def finalize(self) -> None:
        """Close spool files and move them to their final names (idempotent)."""
        if self._finalized:
            return
        for name, f in self._files.items():
            f.close()
            os.replace(self._path(name, partial=True), self._path(name, partial=False))
        self._files.clear()
        self._finalized = True

    def write_to(self, directory: Path, write) -> None:
        """Write every column into ``directory`` through ``write(final_path, fill)``,
        where ``fill(tmp_path)`` produces the file (the caller makes it atomic)."""
        for name in self.spec:
            target = directory / self.file_name(name)
            if self._dir is not None and self._finalized:
                src = self._path(name, partial=False)
                if src.resolve() == target.resolve():
                    continue
                write(target, lambda tmp, src=src: shutil.copyfile(src, tmp))
            else:
                col = self.column(name)
                write(target, lambda tmp, col=col: np.ascontiguousarray(col).tofile(tmp))


class Blocks:
    """Sample values: blocks of Q x n_k float64, one quantity contiguous per block."""

    def __init__(self, width: int, *, directory: Path | None = None, file_name: str = "",
                 sizes: list[int] | None = None, readonly: bool = False) -> None:
        self.width = width
        self.sizes: list[int] = list(sizes or [])
        self._dir = directory
        self._name = file_name
        self._blocks: list[np.ndarray] = []
        self._compact: np.ndarray | None = None  # Q x N, memory mode, after a read
        self._file: BinaryIO | None = None
        self._finalized = readonly
        if directory is not None and not readonly:
            self._file = open(self._path(partial=True), "wb")  # noqa: SIM115

    def _path(self, *, partial: bool) -> Path:
        assert self._dir is not None
        return self._dir / (self._name + (PARTIAL if partial else ""))

    @property
    def n(self) -> int:
        return sum(self.sizes)

    def append(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype="<f8")
        if block.shape[0] != self.width:
            raise ValueError(f"block of {block.shape[0]} quantities, expected {self.width}")
        if self._file is not None:
            self._file.write(block.tobytes())
        else:
            self._blocks.append(block)
        self.sizes.append(block.shape[1])

    def row(self, q: int) -> np.ndarray:
        """All samples of quantity ``q``."""
        if self._dir is None:
            if self._blocks:
                parts = ([self._compact] if self._compact is not None else []) + self._blocks
                self._compact = np.concatenate(parts, axis=1)
                self._blocks = []
                self.sizes = [self._compact.shape[1]]  # the layout iter_blocks yields
            return self._compact[q] if self._compact is not None else np.empty(0)
        if self.n == 0:
            return np.empty(0)
        if self._file is not None:
            self._file.flush()
        # One positioned read per block into the result: a memmap of the whole file would
        # map (fault-around) several times the quantity's bytes into the process's RSS.
        out = np.empty(self.n, dtype="<f8")
        view = out.data.cast("B")
        with open(self._path(partial=not self._finalized), "rb", buffering=0) as f:
            base = start = 0
            fd = f.fileno()
            for size in self.sizes:
                want = size * 8
                got = os.preadv(fd, [view[start * 8:start * 8 + want]], (base + q * size) * 8)
                if got != want:
                    raise OSError(f"{f.name}: short read ({got} of {want} bytes)")
                base += size * self.width
                start += size
        return out

    def iter_blocks(self):
        """Yield Q x n_k blocks in order (export without loading everything)."""
        if self._dir is None:
            if self._compact is not None:
                yield self._compact
            yield from self._blocks
            return
        if self.n == 0:
            return
        if self._file is not None:
            self._file.flush()
        # Read block by block (not one memmap of the file: its pages would count in the
        # process's RSS until the last block, 336 MB for a 10-minute run).
        with open(self._path(partial=not self._finalized), "rb") as f:
            for size in list(self.sizes):
                count = size * self.width
                block = np.fromfile(f, dtype="<f8", count=count)
                if block.size != count:
                    raise OSError(f"{f.name}: {block.size} of {count} values in a block")
                yield block.reshape(self.width, size)

    def memory_bytes(self) -> int:
        held = sum(b.nbytes for b in self._blocks)
        return held + (self._compact.nbytes if self._compact is not None else 0)

    def finalize(self) -> None:
        if self._finalized:
            return
        if self._file is not None:
            self._file.close()
            self._file = None
            os.replace(self._path(partial=True), self._path(partial=False))
        self._finalized = True

    def write_to(self, directory: Path, write) -> None:
        target = directory / self._name
        if self._dir is not None and self._finalized:
            src = self._path(partial=False)
            if src.resolve() != target.resolve():
                write(target, lambda tmp: shutil.copyfile(src, tmp))
            return

        def fill(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                for block in self.iter_blocks():
                    f.write(np.ascontiguousarray(block, dtype="<f8").tobytes())
        write(target, fill)
