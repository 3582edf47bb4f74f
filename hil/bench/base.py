"""What every bench shares: simulated or wall time, events, step hooks and the trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hil.bench.clock import NS_PER_S


class LoopBase:
    """What every assembled bench offers a runner: time, events, step hooks.

    Subclasses set ``env``, ``trace`` and ``plant_node``.
    """

    env: Any
    trace: Any
    plant_node: Any

    @property
    def now_ns(self) -> int:
        return self.env.now

    @property
    def now(self) -> float:
        return self.env.now / NS_PER_S

    def event(self, kind: str, text: str) -> None:
        if self.trace is not None:
            self.trace.add_event(self.env.now, kind, text)

    def on_step(self, hook: Callable[[int], None]) -> None:
        """Call ``hook(now_ns)`` before every plant step (scenario steps, online checks)."""
        self.plant_node.step_hooks.append(hook)
