"""Structured logs: one JSON object per line, ids carried, secrets never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging

SECRET = "xoxb-0000-super-secret-value"


@pytest.fixture(autouse=True)
def restore_chatops_logger() -> Iterator[None]:
    """``configure_logging`` changes the process-wide ``chatops`` logger; undo it."""
    logger = logging.getLogger("chatops")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def logger_writing_to(stream: io.StringIO, fmt: str = "json") -> logging.Logger:
    return configure_logging("INFO", fmt, [SECRET], stream)


def test_json_line_carries_invocation_and_delivery_ids() -> None:
    stream = io.StringIO()
    log = logger_writing_to(stream)
    log.info("claimed (attempt %d)", 2, extra={"invocation_id": "inv-1", "delivery_key": "d-1"})
    line = json.loads(stream.getvalue())
    del line["at"]
    assert line == {
        "level": "info",
        "logger": "chatops",
        "msg": "claimed (attempt 2)",
        "invocation_id": "inv-1",
        "delivery_key": "d-1",
    }


def test_secret_values_are_redacted_from_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    log = logger_writing_to(stream)
    log.getChild("outbox").warning("token %s rejected", SECRET, extra={"delivery_key": SECRET})
    try:
        raise RuntimeError(f"auth failed with {SECRET}")
    except RuntimeError:
        log.exception("send failed")
    output = stream.getvalue()
    assert SECRET not in output
    first, second = (json.loads(line) for line in output.splitlines())
    assert (first["msg"], first["delivery_key"]) == ("token [redacted] rejected", "[redacted]")
    assert second["msg"] == "send failed"
    assert second["exc"].splitlines()[-1] == "RuntimeError: auth failed with [redacted]"


def test_text_format_appends_ids() -> None:
    stream = io.StringIO()
    log = logger_writing_to(stream, fmt="text")
    log.info("accepted", extra={"invocation_id": "inv-9"})
    assert stream.getvalue().rstrip("\n").endswith(" INFO chatops accepted invocation_id=inv-9")
