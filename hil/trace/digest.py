"""A hash of a whole trace: proof that two runs recorded the same thing to the last bit.

SHA-256 over every frame (end and start times, id, dlc, data, sender, flags) and every plant
sample (time and all quantities, as float64 bytes), in recording order. Equal digests mean
the same frames at the same nanoseconds and the same plant trajectory. ``hil run`` writes it
to each scenario's result.json (``trace_sha256``); ``hil search`` uses it to show that a
counterexample replays bit for bit; benchmarks/trace_hash.py prints it for the workloads.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["trace_digest"]


def trace_digest(trace: Any) -> tuple[str, int, int]:
    """(first 16 hex digits of the SHA-256, frames, samples) of a finished trace."""
    h = hashlib.sha256()
    for view in trace.iter_frames():
        for column in (view.t_end_ns, view.t_start_ns, view.id, view.dlc, view.data,
                       view.sender, view.flags):
            h.update(column.tobytes())
    for t_ns, block in trace.iter_samples():
        h.update(t_ns.tobytes())
        h.update(block.tobytes())
    return h.hexdigest()[:16], trace.n_frames, trace.n_samples
