"""Structured logs: one JSON object per line, ids carried, secrets never written."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging

SECRET = "xoxb-0000-super-secret-value"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """``configure_logging`` changes process-wide loggers; undo it."""
    root, chatops = logging.getLogger(), logging.getLogger("chatops")
    saved = (list(root.handlers), root.level, chatops.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    chatops.setLevel(saved[2])


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


def test_library_lines_go_through_the_same_redacting_handler() -> None:
    stream = io.StringIO()
    logger_writing_to(stream)
    logging.getLogger("tortoise.db_client").warning("connect failed for %s", SECRET)
    line = json.loads(stream.getvalue())
    assert (line["logger"], line["msg"]) == ("tortoise.db_client", "connect failed for [redacted]")


def test_configuring_twice_leaves_one_handler() -> None:
    stream = io.StringIO()
    logger_writing_to(stream)
    logger_writing_to(stream).info("once")
    assert [json.loads(line)["msg"] for line in stream.getvalue().splitlines()] == ["once"]


def test_text_format_appends_ids() -> None:
    stream = io.StringIO()
    log = logger_writing_to(stream, fmt="text")
    log.info("accepted", extra={"invocation_id": "inv-9"})
    assert stream.getvalue().rstrip("\n").endswith(" INFO chatops accepted invocation_id=inv-9")


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as sys.stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_auto_format_is_text_on_a_terminal_and_json_elsewhere() -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    configure_logging("INFO", "auto", [], terminal).info("listening")
    configure_logging("INFO", "auto", [], pipe).info("listening")

    assert re.fullmatch(r"\S+ \S+ INFO chatops listening\n", terminal.getvalue())
    assert json.loads(pipe.getvalue())["msg"] == "listening"


def test_apscheduler_info_lines_are_dropped_but_its_warnings_kept() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", "text", [], stream)
    logging.getLogger("apscheduler.scheduler").info('Added job "housekeeping"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")

    assert [line.split(" ", 3)[2:] for line in stream.getvalue().splitlines()] == [
        ["WARNING", "apscheduler.scheduler Run time of job was missed"]
    ]
