"""Values as the ODBC drivers hand them back, made into what the table means."""

from __future__ import annotations

from typing import Any


def stored_flag(value: Any) -> bool | None:
    """A BIT/BOOLEAN column. psqlODBC hands BOOLEAN back as the text '1'/'0' (its BoolsAsChar
    default), and bool('0') would be True."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "y", "yes")
    return bool(value)
