"""The embedded default: kyzconsole's own SQLite file, created from the packaged script."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pyodbc
from loguru import logger

from kyzconsole.db.errors import PermanentDatabaseError
from kyzconsole.db.target import SqlTarget

TABLE_SCRIPT = "sqlite_001_create_table.sql"
# The views serve reports only: if an old SQLite in some ODBC driver cannot build them, ingest
# must still start, so their failure is logged, not raised.
VIEW_SCRIPTS = ("sqlite_003_dashboard_views.sql",)


def statements(script: str) -> list[str]:
    """Split a packaged script into statements (they never hold ';' inside a literal)."""
    body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in body.split(";") if part.strip()]


def ensure_embedded_database(target: SqlTarget) -> None:
    """Create kyz.db and its table on first use. Only ever called for the embedded target."""
    assert target.embedded_path is not None, "DDL runs only on the embedded database"
    path: Path = target.embedded_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermanentDatabaseError(
            f"cannot create the data dir {path.parent}: {exc.strerror}; set KYZ_DATA_DIR"
        ) from None
    try:
        connection = pyodbc.connect(target.connection_string, autocommit=True)
    except pyodbc.Error as exc:
        raise target.dialect.translate(exc, target.describe()) from None
    try:
        cursor = connection.cursor()
        try:
            _run_script(cursor, TABLE_SCRIPT)
        except pyodbc.Error as exc:
            raise target.dialect.translate(exc, target.describe()) from None
        for name in VIEW_SCRIPTS:
            try:
                _run_script(cursor, name)
            except pyodbc.Error as exc:
                logger.warning(
                    "the report views in {} could not be created ({}); ingest goes on, "
                    "`kyzconsole report` may fail",
                    path,
                    target.dialect.translate(exc, target.describe()),
                )
    finally:
        connection.close()


def _run_script(cursor: pyodbc.Cursor, name: str) -> None:
    script = resources.files("kyzconsole.db.schema").joinpath(name).read_text("utf-8")
    for statement in statements(script):
        cursor.execute(statement)
