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
