"""The operations docs and Windows scripts show only commands, flags and settings that exist.

PowerShell cannot run here, so every `kyzconsole ...` invocation is parsed out of the .ps1
scripts, the fenced code blocks (and inline code) of docs/*.md and README.md, and each
subcommand and --flag is checked against the real `python -m kyzconsole ... --help`.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kyzconsole.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted((REPO / "docs").glob("*.md"))
SCRIPTS = sorted((REPO / "scripts" / "windows").glob("*.ps1"))
REQUIRED_DOCS = ("DEPLOYMENT_WINDOWS_SERVER.md", "MOSQUITTO_SETUP.md", "RUNBOOK.md")
REQUIRED_SCRIPTS = ("install_ingestor.ps1", "create_taskscheduler_jobs.ps1", "smoke_test.ps1")
# The commands the runbook relies on; report and gaps included.
RUNBOOK_COMMANDS = ("status", "test-conn", "quarantine", "replay", "gaps", "report")
GLOBAL_VALUE_FLAGS = {"--config", "--data-dir", "--log-dir", "--log-level"}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`(kyzconsole [^`]+)`")
TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|&&|[|;]|[^\s|;]+")
SETTING = re.compile(r"(?<![\w.])KYZ_[A-Z][A-Z0-9_]*\b")
EXTRA_SETTING_NAMES = {"KYZ_CONFIG"}


@functools.cache
def help_text(command: str | None) -> str:
    args = [sys.executable, "-m", "kyzconsole", *([command] if command else []), "--help"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, f"`kyzconsole {command or ''} --help` failed: {result.stderr}"
    return result.stdout


def joined_lines(text: str) -> list[str]:
    """Lines with PowerShell (`) and shell (\\) continuations joined."""
    return re.sub(r"[ \t]+[`\\]\n[ \t]*", " ", text).splitlines()


def invocation_args(line: str) -> list[list[str]]:
    """The argument tokens of every kyzconsole invocation in one command line."""
    found, segments = [], [[]]
    for token in TOKEN.findall(line):  # quoted strings stay whole: no splitting inside them
        if token in ("|", ";", "&&"):
            segments.append([])
        else:
            segments[-1].append(token)
    for words in segments:
        words = [w.lstrip("(") for w in words if w.lstrip("(")]
        comment = [i for i, w in enumerate(words) if w.startswith("#")]
        words = words[: comment[0]] if comment else words
        while words and (words[0] in ("&", "$(") or re.fullmatch(r"[A-Z_]+=\S*", words[0])):
            words = words[1:]  # PowerShell's call operator, sh's VAR=value prefixes
        if len(words) >= 2 and words[1] == "=" and words[0].startswith("$"):
            words = words[2:]  # $status = & $Kyz status --json
            if words and words[0] == "&":
                words = words[1:]
        if words[:2] and words[0].endswith("python") and words[1:3] == ["-m", "kyzconsole"]:
            words = ["kyzconsole", *words[3:]]
        if not words:
            continue
        program = re.split(r"[\\/]", words[0].strip("'\""))[-1]
        if program in ("kyzconsole", "kyzconsole.exe", "$Kyz"):
            found.append([w.strip("'\"") for w in words[1:]])
    return found


def check_invocation(args: list[str], where: str) -> None:
    command, skip_next = None, False
    for token in args:
        if skip_next:
            skip_next = False
            continue
        if token.startswith("--"):
            skip_next = command is None and token in GLOBAL_VALUE_FLAGS
            continue
        if command is None and re.fullmatch(r"[a-z][a-z-]*", token):
            command = token
            break
        if command is None and not token.startswith("-"):
            break  # a value, a path: nothing more to check before the command
    known = help_text(None)
    if command is not None:
        assert re.search(rf"^    {re.escape(command)}\s", known, re.MULTILINE), (
            f"{where}: `kyzconsole {command}` is not a kyzconsole command"
        )
    text = help_text(command)
    for token in args:
        flag = re.match(r"--[a-z][a-z-]*", token)
        if flag:
            assert re.search(rf"(?<![\w-]){re.escape(flag.group())}(?![\w-])", text), (
                f"{where}: `kyzconsole {command or ''}` has no flag {flag.group()}"
            )
    if command is None:
        return
    positionals = [t for t in args[args.index(command) + 1 :] if not t.startswith("-")][:1]
    choices = {c for group in re.findall(r"\{([a-z,|]+)\}", text) for c in group.split(",")}
    if positionals and re.fullmatch(r"[a-z]+", positionals[0]) and choices:
        assert positionals[0] in choices, f"{where}: `kyzconsole {command} {positionals[0]}`"


def doc_command_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = [line for block in FENCE.findall(text) for line in joined_lines(block)]
    if path.parent.name == "docs":
        lines += INLINE.findall(text)
    return lines


def script_command_lines(path: Path) -> list[str]:
    return [ln for ln in joined_lines(path.read_text(encoding="utf-8")) if ln.strip()[:1] != "#"]


def all_invocations() -> list[tuple[str, list[str]]]:
    found = []
    for path in [*DOCS, REPO / "README.md"]:
        for line in doc_command_lines(path):
            found += [(path.name, args) for args in invocation_args(line)]
    for path in SCRIPTS:
        for line in script_command_lines(path):
            found += [(path.name, args) for args in invocation_args(line)]
    return found


def test_every_operations_doc_and_script_is_there() -> None:
    assert {p.name for p in DOCS} >= set(REQUIRED_DOCS)
    assert {p.name for p in SCRIPTS} >= set(REQUIRED_SCRIPTS)


def test_the_parser_finds_the_invocations_the_docs_and_scripts_make() -> None:
    found = all_invocations()
    places = {where for where, _ in found}
    # The task script runs kyzconsole through the task's action, checked on its own below.
    assert places >= {*REQUIRED_DOCS, "install_ingestor.ps1", "smoke_test.ps1", "README.md"}
    commands = {args[0] for _, args in found if args and not args[0].startswith("-")}
    assert commands >= set(RUNBOOK_COMMANDS)
    assert ["--headless"] in [args[:1] for _, args in found]


def test_every_kyzconsole_command_and_flag_in_docs_and_scripts_exists() -> None:
    for where, args in all_invocations():
        check_invocation(args, where)


def test_the_check_refuses_a_made_up_command_or_flag() -> None:
    with pytest.raises(AssertionError, match="not a kyzconsole command"):
        check_invocation(["restart-service"], "example")
    with pytest.raises(AssertionError, match="has no flag --since"):
        check_invocation(["gaps", "--since", "2026-03-01"], "example")
    with pytest.raises(AssertionError, match="has no flag --daemon"):
        check_invocation(["--daemon"], "example")
    assert invocation_args('throw "x; kyzconsole needs Python"') == []
    assert invocation_args("$s = & $Kyz status --json | ConvertFrom-Json") == [["status", "--json"]]


def test_the_runbook_uses_report_and_gaps_as_they_exist() -> None:
    for command, flags in {"report": ["--from", "--to", "--json"], "gaps": ["--json"]}.items():
        check_invocation([command, *flags], "RUNBOOK.md")
    for kind in ("latest", "today", "daily", "monthly"):
        check_invocation(["report", kind], "RUNBOOK.md")


def test_the_scheduled_task_runs_headless_with_flags_that_exist() -> None:
    script = (REPO / "scripts" / "windows" / "create_taskscheduler_jobs.ps1").read_text()
    arguments = re.search(r'^\$arguments = "(.*)"$', script, re.MULTILINE).group(1)
    flags = re.findall(r"--[a-z][a-z-]*", arguments)
    assert flags == ["--headless", "--config"]
    check_invocation(flags, "create_taskscheduler_jobs.ps1 -Argument")


def test_every_setting_named_in_the_docs_and_scripts_exists() -> None:
    names = {f"KYZ_{field.upper()}" for field in Settings.model_fields} | EXTRA_SETTING_NAMES
    for path in [*DOCS, *SCRIPTS]:
        unknown = set(SETTING.findall(path.read_text(encoding="utf-8"))) - names
        assert not unknown, f"{path.name} names settings that do not exist: {sorted(unknown)}"


def toml_texts() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        blocks = re.findall(r"^```toml\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
        found += [(path.name, block) for block in blocks]
    install = (REPO / "scripts" / "windows" / "install_ingestor.ps1").read_text()
    found += [("install_ingestor.ps1", re.search(r"@'\n(.*?)^'@", install, re.S | re.M).group(1))]
    return found


@pytest.mark.parametrize("where, text", toml_texts(), ids=lambda v: v[:40])
def test_every_config_file_shown_loads_as_kyzconsole_settings(where, text, tmp_path) -> None:
    config = tmp_path / "kyzconsole.toml"
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config)
    assert settings.sql_server == "your-server.database.windows.net", where
    assert settings.sql_password is None and settings.mqtt_password is None  # no secrets
    if settings.sql_authentication != "ActiveDirectoryMsi":
        assert settings.mqtt_tls and settings.resolved_mqtt_port == 8883
        assert str(settings.mqtt_ca_file) == r"C:\ProgramData\mosquitto\certs\ca.crt"


@pytest.mark.parametrize("name", REQUIRED_SCRIPTS)
def test_windows_scripts_are_strict_powershell(name) -> None:
    text = (REPO / "scripts" / "windows" / name).read_text(encoding="utf-8")
    assert "Set-StrictMode -Version Latest" in text
    assert "$ErrorActionPreference = 'Stop'" in text
    assert text.isascii(), "Windows PowerShell 5.1 reads a BOM-less script as ANSI"


def test_scheduled_task_starts_at_boot_restarts_has_no_time_limit_and_supports_whatif() -> None:
    text = (REPO / "scripts" / "windows" / "create_taskscheduler_jobs.ps1").read_text()
    for needle in (
        "[CmdletBinding(SupportsShouldProcess",
        "New-ScheduledTaskTrigger -AtStartup",
        "-ExecutionTimeLimit ([TimeSpan]::Zero)",
        "-RestartCount ",
        "-RestartInterval ",
        "-WorkingDirectory $DataDir",
        "Unregister-ScheduledTask",
        "-LogonType Password -RunLevel Limited",
        "$PSCmdlet.ShouldProcess(",
    ):
        assert needle in text, needle


def test_smoke_test_reads_the_status_fields_the_service_writes() -> None:
    text = (REPO / "scripts" / "windows" / "smoke_test.ps1").read_text()
    engine = (REPO / "kyzconsole" / "engine" / "ingest.py").read_text()
    for field in ("latest_interval", "age_minutes"):
        assert field in text and f'"{field}"' in engine
    assert re.search(r"^\s+3 \{", text, re.MULTILINE), "status exit 3 means not running"
