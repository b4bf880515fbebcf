"""Shared fixtures: an isolated environment, a real PostgreSQL server and both writer targets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from kyzconsole.config import load_settings
from kyzconsole.db.target import SqlTarget, resolve_target
from tests.servers.postgres import PostgresServer

REPO = Path(__file__).resolve().parent.parent
PG_TABLE_SCRIPT = REPO / "sql" / "postgresql" / "001_create_table.sql"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No KYZ_* variable and no stray .env from the developer's shell reaches a test, and no
    log sink a test set up (on pytest's captured stderr, say) outlives it."""
    for name in list(os.environ):
        if name.upper().startswith("KYZ_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
    logger.remove()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop_and_remove()


def new_database(server: PostgresServer, *, with_table: bool = True) -> str:
    """A fresh database owned by the ingest login; the table script applied as a DBA would."""
    # uuid, not a counter: test modules import this file as tests.conftest, a second copy.
    name = f"kyz_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    server.create_database(name)
    if with_table:
        # The DBA runs the script as the owner so the ingest login can read and write the table.
        script = PG_TABLE_SCRIPT.read_text(encoding="utf-8")
        server.psql(f"SET ROLE kyz_ingest;\n{script}", db=name)
    return name


def pg_target_for(server: PostgresServer, database: str, **overrides: object) -> SqlTarget:
    settings = load_settings(sql_connection_string=server.connection_string(database), **overrides)
    return resolve_target(settings)


@pytest.fixture
def pg_target(pg_server: PostgresServer) -> Iterator[SqlTarget]:
    if not pg_server.running:  # a previous test's stop() must not leak into this one
        pg_server.start()
    name = new_database(pg_server)
    yield pg_target_for(pg_server, name)
    if pg_server.running:
        pg_server.drop_database(name)


@pytest.fixture
def sqlite_target(tmp_path: Path) -> SqlTarget:
    return resolve_target(load_settings(data_dir=tmp_path))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_target(request: pytest.FixtureRequest) -> SqlTarget:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_target")
    return request.getfixturevalue("pg_target")


# -- the reporting fixture month, loaded once per test module ------------------------------------


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[SqlTarget, list]:
    from tests.reporting_fixture import load, sqlite_target_at

    target = sqlite_target_at(tmp_path_factory.mktemp("fixture-month-sqlite"))
    return target, load(target)


@pytest.fixture(scope="module")
def pg_db(pg_server: PostgresServer) -> Iterator[tuple[SqlTarget, list]]:
    from tests.reporting_fixture import load, postgres_database

    name, target = postgres_database(pg_server)
    yield target, load(target)
    if pg_server.running:
        pg_server.drop_database(name)
