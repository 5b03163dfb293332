"""Outbox keys: one constructor for each kind of message, and the bound they all keep.

An outbox key names a message for good: enqueueing the same key twice sends once, and a
connector finds what it posted for a key when a send is retried (the marker it leaves).
So every key is built here, from the ids that make the message unique, and nowhere else.

Invariants:
- A key is at most ``MAX_KEY`` characters (the column's size). A key built from
  something a platform chose (a delivery id) that would be longer keeps its readable
  start and ends with a digest of the whole, so it stays unique and stable.
- Keys of different kinds never collide: each starts with its own prefix.
"""

from __future__ import annotations

import hashlib

MAX_KEY = 255
_DIGEST_CHARS = 16


def reply_key(invocation_id: str) -> str:
    """The answer to one invocation: one per invocation."""
    return _bounded(f"reply:{invocation_id}")


def acknowledgement_key(invocation_id: str) -> str:
    """The acknowledgement (a 👀) of the message that carried one invocation."""
    return _bounded(f"ack:{invocation_id}")


def followup_key(name: str, invocation_id: str) -> str:
    """A further message a handler queues with its answer (``Context.also_send``)."""
    return _bounded(f"{name}:{invocation_id}")


def notice_key(source: str, part: int | str | None = None) -> str:
    """A front door's notice about one event (a usage error, "only the first N ran")."""
    suffix = "" if part is None else f":{part}"
    return _bounded(f"notice:{source}{suffix}")


def run_summary_key(run_id: int) -> str:
    """The sticky summary of one CI run on its pull or merge request."""
    return _bounded(f"run:{run_id}:summary")


def run_subscriber_key(run_id: int, subscription_id: int) -> str:
    """A CI run's result for one subscribed channel."""
    return _bounded(f"run:{run_id}:sub:{subscription_id}")


def run_origin_key(run_id: int, origin_id: int) -> str:
    """A CI run's result for one place that asked for the run."""
    return _bounded(f"run:{run_id}:origin:{origin_id}")


def secret_alert_key(alert_id: int, subscription_id: int) -> str:
    """One expiry alert for one subscribed channel."""
    return _bounded(f"secret-alert:{alert_id}:sub:{subscription_id}")


def _bounded(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    return f"{key[: MAX_KEY - _DIGEST_CHARS - 1]}~{digest}"
