"""Logging: the rotated file, stdlib logging routed into loguru, secrets masked."""

from __future__ import annotations

import logging

from loguru import logger

from kyzconsole.logs import setup_logging
from kyzconsole.masking import SECRETS, mask_secrets


def test_log_file_gets_loguru_and_stdlib_lines_with_secrets_masked(tmp_path):
    SECRETS.add("pa55-word-xyz")
    path = setup_logging(tmp_path / "logs", stderr_level=None)
    assert path == tmp_path / "logs" / "kyz_ingestor.log"
    logger.info("connecting with Driver=x;Uid=u;PWD=pa55-word-xyz;")
    logging.getLogger("paho.mqtt.client").warning("paho says %s", "hello")
    logger.info("the raw secret pa55-word-xyz alone")
    logger.remove()
    text = path.read_text()
    assert "paho says hello" in text
    assert "pa55-word-xyz" not in text
    assert "PWD=***" in text


def test_unwritable_log_dir_falls_back_to_stderr_only(tmp_path, capsys):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    assert setup_logging(blocker / "logs", stderr_level="WARNING") is None
    logger.remove()
    assert "cannot write the log file" in capsys.readouterr().err


def test_mask_secrets_handles_braced_values_and_urls():
    assert mask_secrets("Pwd={a;b}}c};Uid=u") == "Pwd=***;Uid=u"
    assert mask_secrets("password = plain ; x=1") == "password = ***; x=1"
    assert mask_secrets("mqtts://kyz:hunter2@broker:8883") == "mqtts://kyz:***@broker:8883"
    assert mask_secrets("AccessToken=eyJabc;") == "AccessToken=***;"


def test_batched_lines_look_like_single_calls_and_are_masked(tmp_path):
    from kyzconsole.logs import log_lines

    SECRETS.add("batch-secret-99")
    path = setup_logging(tmp_path, stderr_level=None)
    logger.info("one call")
    log_lines("INFO", ["inserted a", "inserted b batch-secret-99"], name="kyzconsole.engine.ingest")
    log_lines("DEBUG", ["not at INFO"], name="x")
    logger.remove()
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    assert lines[1].endswith("| INFO     | kyzconsole.engine.ingest | inserted a")
    assert lines[1][:23].count(":") == 2 and lines[1][23:26] == " | "  # same time stamp layout
    assert "batch-secret-99" not in lines[2] and lines[2].endswith("inserted b ***")
