"""Structured logging: one line per step, carrying the ids that tie steps together.

``configure_logging`` installs one handler on the root logger, so that our
lines and the libraries' (aiohttp, tortoise, APScheduler) alike are written
with a JSON (or plain text, on a terminal) formatter through a filter that replaces every
value read from a secret reference with ``[redacted]``, whichever field it
hides in.
Callers pass ``extra={"invocation_id": ..., "delivery_key": ...}``; those keys,
when present, appear as fields of the line.

Invariant: a secret's value never reaches a log line written through the
logging module, including exception text and tracebacks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

# Libraries whose INFO lines are noise for an operator (APScheduler announces every job
# added and every run); they log at WARNING and above whatever the configured level.
QUIET_LIBRARIES = ("apscheduler",)
CONTEXT_FIELDS = ("invocation_id", "delivery_key", "platform", "outbox_key", "worker")
REDACTED = "[redacted]"
INSTALLED_MARK = "_chatops_handler"


class SecretRedactor(logging.Filter):
    """Replace known secret values in the formatted message and exception text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # the longest first, so that a secret containing another is removed whole
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = [f"{n}={getattr(record, n)}" for n in CONTEXT_FIELDS if getattr(record, n, None)]
        return f"{text} {' '.join(ids)}" if ids else text


def configure_logging(
    level: str, fmt: str, secrets: Iterable[str], stream: TextIO
) -> logging.Logger:
    """Route all logging through one redacting handler; return the ``chatops`` logger.

    ``fmt`` is "json", "text", or "auto" (text when ``stream`` is a terminal, else JSON).
    Calling it again replaces the handler it installed before.
    """
    if fmt == "auto":
        fmt = "text" if stream.isatty() else "json"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, INSTALLED_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(SecretRedactor(secrets))
    setattr(handler, INSTALLED_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    logger = logging.getLogger("chatops")
    logger.setLevel(level)
    return logger
