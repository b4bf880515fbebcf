"""Keeps secrets out of anything a person or a log file will see."""

from __future__ import annotations

import re

MASK = "***"
_SECRET_KEYS = r"pwd|password|accesstoken|access_token|token|secret|client_secret"
# key=value inside an ODBC connection string; a braced value may contain ; and }} escapes.
_CONNECTION_SECRET = re.compile(rf"(?i)\b({_SECRET_KEYS})(\s*=\s*)(\{{(?:[^}}]|\}}\}})*\}}|[^;]*)")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)")


def mask_secrets(text: str) -> str:
    """Replace passwords and tokens in connection strings and URLs with ***."""
    text = _CONNECTION_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)


class SecretRegistry:
    """Exact secret values known at runtime (a password from the environment, say)."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 3:
            self._values.add(value)

    def scrub(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return mask_secrets(text)


SECRETS = SecretRegistry()
