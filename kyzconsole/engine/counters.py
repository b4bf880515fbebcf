"""The ingest counters: every message ends in exactly one outcome, and the sums must add up."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CounterSnapshot:
    received: int
    recovered: int
    inserted: int
    duplicates: int
    conflicts: int
    invalid: int
    pending: int
    per_minute: float

    def balanced(self) -> bool:
        """received + recovered = inserted + duplicates + conflicts + invalid + pending."""
        done = self.inserted + self.duplicates + self.conflicts + self.invalid + self.pending
        return self.received + self.recovered == done

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "recovered": self.recovered,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "invalid": self.invalid,
            "messages_per_minute": round(self.per_minute, 1),
        }


class Counters:
    """Thread-safe counts since the engine started. `recovered` = spooled by an earlier run."""

    def __init__(self, recovered: int = 0) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.recovered = recovered
        self.inserted = 0
        self.duplicates = 0
        self.conflicts = 0
        self.invalid = 0
        self._arrivals: deque[float] = deque()

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)
            if amounts.get("received"):
                now = time.monotonic()
                self._arrivals.extend([now] * amounts["received"])
                self._trim(now)

    def _trim(self, now: float) -> None:
        while self._arrivals and now - self._arrivals[0] > 60:
            self._arrivals.popleft()

    def snapshot(self, pending: int) -> CounterSnapshot:
        with self._lock:
            self._trim(time.monotonic())
            return CounterSnapshot(
                self.received,
                self.recovered,
                self.inserted,
                self.duplicates,
                self.conflicts,
                self.invalid,
                pending,
                float(len(self._arrivals)),
            )
