"""A throwaway Mosquitto broker: a real `mosquitto -c` on a free 127.0.0.1 port, in a temp dir.

Mosquitto 2.0.11 quirks this works around:
- Once a `listener` line is present, `allow_anonymous` defaults to false (2.0 change), so the plain
  broker must say `allow_anonymous true` explicitly.
- Started as root it drops privileges to the `mosquitto` user before reading the password, ACL and
  TLS files and opening the log, so files in a root-owned temp dir become unreadable: `user root`.
- `persistence_location` is a prefix, not a dir: it needs the trailing slash.
- The broker prints nothing when ready; the only sign is the port accepting connections.
- The database is written on a clean shutdown (SIGTERM) or every `autosave_interval`; kill() loses
  whatever was queued since the last save.
- An ACL-denied publish is still acknowledged (3.1.1 PUBACK; MQTT 5 PUBACK with 0x87), and
  mosquitto_pub exits 0: a denied publish is only visible as a message that never arrives.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from kyzconsole.processes import stop_gently

READY_DEADLINE = 10.0
CLI_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class BrokerError(RuntimeError):
    """The broker did not start, or a client CLI failed."""


class MosquittoBroker:
    """start() then stop(), or use `with MosquittoBroker(...) as broker:`."""

    def __init__(
        self,
        *,
        tls: bool = False,
        users: dict[str, str] | None = None,
        acl_text: str | None = None,
        extra_conf: Sequence[str] = (),
        max_queued_messages: int = 200_000,
        conf_text: str | None = None,
    ) -> None:
        """With `conf_text`, run that mosquitto.conf instead of generating one: `{root}` in it
        becomes the broker's temp dir and `{port}` its free port. Its `cafile` (if any) is what
        the client CLIs trust, and its `log_dest file` what log_text() reads."""
        self.tls = tls
        self.users = dict(users or {})
        self.acl_text = acl_text
        self.extra_conf = list(extra_conf)
        self.max_queued_messages = max_queued_messages
        self.conf_text = conf_text
        self.host = "127.0.0.1"
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="kyz-mosquitto-"))
        self.conf_file = self.root / "mosquitto.conf"
        self.log_file = self.root / "mosquitto.log"
        self.console_file = self.root / "console.log"  # config errors come before the log opens
        self.persistence_dir = self.root / "persist"
        self.persistence_dir.mkdir()
        self.ca_file: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._prepared = False

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> MosquittoBroker:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        if not self._prepared:
            self._prepare()
        with self.console_file.open("ab") as console:
            self._process = subprocess.Popen(
                ["mosquitto", "-c", str(self.conf_file)],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def stop(self) -> None:
        """SIGTERM, so the broker saves its persistence database; kill if it hangs."""
        process, self._process = self._process, None
        if process is not None:
            stop_gently(process)

    def kill(self) -> None:
        """SIGKILL: no chance to save anything."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)

    def restart(self) -> None:
        """Same port, same config, same persistence database."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_DEADLINE
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise BrokerError(f"mosquitto exited at start:\n{self._log_tail()}")
            if _port_open(self.port):
                return
            time.sleep(0.05)
        self.kill()
        raise BrokerError(
            f"mosquitto did not listen on port {self.port} within {READY_DEADLINE:g} s:\n"
            f"{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 30) -> str:
        console = self.console_file.read_text(encoding="utf-8", errors="replace")
        text = console + self.log_text()
        return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"

    # -- files -----------------------------------------------------------------------------

    def _prepare(self) -> None:
        if self.conf_text is not None:
            self._prepare_from_text(self.conf_text)
            return
        lines = [
            f"listener {self.port} {self.host}",
            "persistence true",
            f"persistence_location {self.persistence_dir}/",
            f"max_queued_messages {self.max_queued_messages}",
            f"log_dest file {self.log_file}",
            "log_type all",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        if self.users:
            lines += [f"password_file {self._write_passwords()}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        if self.acl_text is not None:
            acl_file = self.root / "acl"
            acl_file.write_text(self.acl_text, encoding="utf-8")
            lines.append(f"acl_file {acl_file}")
        if self.tls:
            lines += self._make_certificates()
        lines += self.extra_conf
        self.conf_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._prepared = True

    def _prepare_from_text(self, conf_text: str) -> None:
        text = conf_text.replace("{root}", str(self.root)).replace("{port}", str(self.port))
        for line in text.splitlines():
            key, _, value = line.strip().partition(" ")
            if key == "cafile":
                self.tls, self.ca_file = True, Path(value.strip())
            elif key == "log_dest" and value.startswith("file "):
                self.log_file = Path(value.removeprefix("file ").strip())
        if os.geteuid() == 0:
            text += "\nuser root\n"
        self.conf_file.write_text(text, encoding="utf-8")
        self._prepared = True

    def _write_passwords(self) -> Path:
        password_file = self.root / "passwd"
        password_file.touch()
        for user, password in self.users.items():
            _run(["mosquitto_passwd", "-b", str(password_file), user, password])
        return password_file

    def _make_certificates(self) -> list[str]:
        ca_key, ca_crt = self.root / "ca.key", self.root / "ca.crt"
        key, csr, crt = self.root / "server.key", self.root / "server.csr", self.root / "server.crt"
        ext = self.root / "server.ext"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run(
            [
                *("openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_crt)),
                *("-days", "2", "-subj", "/CN=kyz test CA"),
                *("-addext", "basicConstraints=critical,CA:TRUE"),
                *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            ]
        )
        _run(
            ["openssl", "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1"]
        )
        ext.write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n",
            encoding="utf-8",
        )
        _run(
            [
                *("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt)),
                *("-CAkey", str(ca_key), "-CAcreateserial", "-out", str(crt)),
                *("-days", "2", "-extfile", str(ext)),
            ]
        )
        self.ca_file = ca_crt
        return [f"cafile {ca_crt}", f"certfile {crt}", f"keyfile {key}"]

    # -- independent clients (the mosquitto CLIs) ------------------------------------------

    def client_args(self, user: str | None = None, password: str | None = None) -> list[str]:
        """Connection flags for mosquitto_pub/mosquitto_sub against this broker."""
        args = ["-h", self.host, "-p", str(self.port)]
        if self.tls:
            args += ["--cafile", str(self.ca_file)]
        if user is not None:
            args += ["-u", user]
        if password is not None:
            args += ["-P", password]
        return args

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = 1,
        retain: bool = False,
        user: str | None = None,
        password: str | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """One message through mosquitto_pub; raises BrokerError if it exits non-zero."""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        args = ["mosquitto_pub", *self.client_args(user, password), "-t", topic, "-q", str(qos)]
        args += ["-s"]  # the payload from stdin, so any bytes (even a leading '-') go through
        if retain:
            args.append("-r")
        return _run(args, stdin=data)

    def publish_many(
        self,
        topic: str,
        payloads: list[str],
        qos: int = 1,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        """One message per line through `mosquitto_pub -l`: one connection, fast."""
        if any("\n" in payload for payload in payloads):
            raise ValueError("publish_many sends one message per line; a payload holds a newline")
        args = ["mosquitto_pub", *self.client_args(user, password), "-t", topic, "-q", str(qos)]
        text = "".join(payload + "\n" for payload in payloads)
        _run([*args, "-l"], stdin=text.encode("utf-8"))

    def subscribe_collect(
        self,
        topic: str,
        count: int,
        timeout: float,
        qos: int = 1,
        *,
        user: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        clean: bool = True,
    ) -> list[bytes]:
        """Up to `count` payloads, whatever arrived before `timeout` seconds ran out.

        With `clean=False` and a `client_id` the session persists (and receives what was queued).
        """
        args = ["mosquitto_sub", *self.client_args(user, password), "-t", topic, "-q", str(qos)]
        # -W counts whole seconds; %x prints each payload as hex so any bytes survive the pipe.
        args += ["-C", str(count), "-W", str(max(1, round(timeout))), "-F", "%x"]
        args += self._session_args(client_id, clean)
        result = subprocess.run(args, capture_output=True, timeout=timeout + CLI_TIMEOUT)
        if result.returncode not in (0, 27):  # 27: -W timed out, keep what arrived
            raise BrokerError(_describe(args, result))
        return [bytes.fromhex(line) for line in result.stdout.decode().splitlines()]

    def register_subscriber(
        self,
        topic: str,
        client_id: str,
        qos: int = 1,
        *,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        """Subscribe with a persistent session and leave at once; the broker queues from now on."""
        args = ["mosquitto_sub", *self.client_args(user, password), "-t", topic, "-q", str(qos)]
        _run([*args, "-E", *self._session_args(client_id, clean=False)])

    @staticmethod
    def _session_args(client_id: str | None, clean: bool) -> list[str]:
        args = [] if client_id is None else ["-i", client_id]
        if not clean:
            if client_id is None:
                raise ValueError("a persistent session needs a client_id")
            args.append("-c")
        return args


def _run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(args, input=stdin, capture_output=True, timeout=CLI_TIMEOUT)
    if result.returncode != 0:
        raise BrokerError(_describe(args, result))
    return result


def _describe(args: list[str], result: subprocess.CompletedProcess[bytes]) -> str:
    shown = ["***" if prev == "-P" else arg for prev, arg in zip(["", *args], args, strict=False)]
    output = (result.stderr or result.stdout or b"").decode(errors="replace").strip()
    return f"{' '.join(shown)} exited {result.returncode}: {output}"
