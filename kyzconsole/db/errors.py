"""Database failures, sorted into 'wait and retry' and 'a person must fix this'."""

from __future__ import annotations


class DatabaseError(Exception):
    """A failure talking to the target database. `str()` is one line a person can act on."""

    transient = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class TransientDatabaseError(DatabaseError):
    """Worth retrying on a fresh connection after a back-off (outage, failover, throttling)."""

    transient = True


class PermanentDatabaseError(DatabaseError):
    """Retrying will not help until configuration or permissions change."""
