"""Exponential back-off for transient database and broker failures."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backoff:
    """5 s, 10 s, 20 s ... capped at 60 s: Microsoft's advice for Azure SQL transient errors."""

    first: float = 5.0
    cap: float = 60.0
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._next = self.first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self.cap, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first
