"""The headless path never imports Textual; the console is imported only on demand."""

from __future__ import annotations

import subprocess
import sys


def modules_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(result.stdout.split())


def test_headless_entry_points_do_not_import_textual():
    loaded = modules_after(
        "import kyzconsole.cli.main, kyzconsole.cli.headless, kyzconsole.engine.ingest"
    )
    assert "kyzconsole.cli.headless" in loaded
    assert not {name for name in loaded if name == "textual" or name.startswith("textual.")}


def test_importing_the_console_package_does_not_import_textual_until_it_runs():
    loaded = modules_after("import kyzconsole.tui")
    assert "textual" not in loaded
    assert "textual" in modules_after("import kyzconsole.tui.app")


def test_the_demo_entry_point_does_not_import_textual_until_it_runs():
    loaded = modules_after("import kyzconsole.tui.demo")
    assert "kyzconsole.tui.demo" in loaded
    assert "textual" not in loaded
