"""A throwaway PostgreSQL cluster: initdb into a temp dir, listen on 127.0.0.1 only."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

INGEST_USER = "kyz_ingest"
INGEST_PASSWORD = "Kz-ingest;pw{7}"  # holds ; and braces to exercise ODBC value quoting
POSTGRES_OS_USER = "postgres"


# Runs beside the tests: when the test process ends in any way (even SIGKILL) its end of the
# pipe closes, and this stops the cluster and removes its directory if nobody else did.
_WATCHDOG = """
import os, shutil, subprocess, sys
sys.stdin.buffer.read()
root, data, command = sys.argv[1], sys.argv[2], sys.argv[3:]
if os.path.exists(os.path.join(data, "postmaster.pid")):
    subprocess.run(command, cwd=root, capture_output=True, timeout=60)
shutil.rmtree(root, ignore_errors=True)
"""


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/N/bin, else what pg_config reports."""
    candidates = [
        Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()
    ]
    if candidates:

        def version(path: Path) -> tuple[int, ...]:
            name = path.parent.name
            return tuple(int(x) for x in name.split(".") if x.isdigit())

        return max(candidates, key=version)
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True)
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _odbc_value(value: str) -> str:
    if any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


class PostgresServer:
    """Start with start(), always end with stop_and_remove() (or use it as a context manager)."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="kyz-pg-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log_file = self.root / "server.log"
        self.port = free_port()
        self.running = False
        self._initialised = False
        self._watchdog: subprocess.Popen[bytes] | None = None

    # -- running commands as the cluster's owner ---------------------------------------------

    def _command(self, *args: str) -> list[str]:
        if self.as_root:
            return ["runuser", "-u", POSTGRES_OS_USER, "--", *args]
        return list(args)

    def _run(self, *args: str, input_text: str | None = None) -> str:
        result = subprocess.run(
            self._command(*args),
            input=input_text,
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}\n{self._log_tail()}"
            )
        return result.stdout

    def _log_tail(self) -> str:
        try:
            return "server log:\n" + "\n".join(self.log_file.read_text().splitlines()[-20:])
        except OSError:
            return ""

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    # -- lifecycle ---------------------------------------------------------------------------

    def _initdb(self) -> None:
        self.data_dir.mkdir()
        self.socket_dir.mkdir()
        if self.as_root:
            os.chmod(self.root, 0o755)
            for path in (self.data_dir, self.socket_dir):
                shutil.chown(path, POSTGRES_OS_USER, POSTGRES_OS_USER)
            self.log_file.touch()
            shutil.chown(self.log_file, POSTGRES_OS_USER, POSTGRES_OS_USER)
        self._run(
            self._bin("initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            POSTGRES_OS_USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )
        self._initialised = True

    def start(self) -> None:
        if self.running:
            return
        if not self._initialised:
            atexit.register(self.stop_and_remove)  # a backstop if the caller never gets to it
            self._start_watchdog()
            self._initdb()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            self._bin("pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        self.running = True
        if not getattr(self, "_roles_ready", False):
            self.psql(f"CREATE ROLE {INGEST_USER} LOGIN PASSWORD '{INGEST_PASSWORD}'")
            self._roles_ready = True

    def _start_watchdog(self) -> None:
        stop = self._command(
            self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"
        )
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(self.root), str(self.data_dir), *stop],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to the tests must not kill it first
        )

    def stop(self, mode: str = "fast") -> None:
        if not self.running:
            return
        self._run(self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")
        self.running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop_and_remove(self) -> None:
        try:
            if self.running:
                try:
                    self.stop("fast")
                except RuntimeError:
                    self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            if self._watchdog is not None:
                assert self._watchdog.stdin is not None
                self._watchdog.stdin.close()
                self._watchdog.wait(timeout=30)
                self._watchdog = None

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.stop_and_remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_and_remove()

    # -- administration as superuser over the unix socket ------------------------------------

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser; stops at the first error. Returns unaligned output."""
        return self._run(
            self._bin("psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            POSTGRES_OS_USER,
            "-d",
            db,
            input_text=sql,
        )

    def psql_file(self, path: Path, db: str) -> str:
        return self.psql(Path(path).read_text(encoding="utf-8"), db=db)

    def create_database(self, name: str, owner: str = INGEST_USER) -> None:
        self.psql(f'CREATE DATABASE "{name}" OWNER "{owner}"')

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def connection_string(
        self, db: str, user: str = INGEST_USER, password: str = INGEST_PASSWORD
    ) -> str:
        return (
            "Driver={PostgreSQL Unicode};Server=127.0.0.1;"
            f"Port={self.port};Database={_odbc_value(db)};"
            f"Uid={_odbc_value(user)};Pwd={_odbc_value(password)};"
        )
