"""The inbox and outbox as durable queues with leases: the names callers import.

The parts live in modules of their own: ``bot.store.inbox`` and ``bot.store.outbox``
(the queues), ``bot.store.claims`` (one claim statement for both, and putting rows with an
ended lease back), ``bot.store.queue_rows`` (claims, audit lines and the rows the steps
write), ``bot.store.writes`` (several writes as one transaction in one trip where the
driver allows), ``bot.store.purge`` (history deleted in batches).
"""

from __future__ import annotations

from bot.store.claims import RELEASE_INTERVAL
from bot.store.inbox import InboxQueue
from bot.store.outbox import OutboxQueue, enqueue_in_transaction
from bot.store.purge import purge_audit
from bot.store.queue_rows import (
    ACKNOWLEDGEMENT_PRIORITY,
    MESSAGE_PRIORITY,
    PRIORITIES,
    Audit,
    ClaimScope,
    DeadLetter,
    InboxClaim,
    LeaseLost,
    OutboxClaim,
    priority_of,
)

__all__ = [
    "ACKNOWLEDGEMENT_PRIORITY",
    "MESSAGE_PRIORITY",
    "PRIORITIES",
    "RELEASE_INTERVAL",
    "Audit",
    "ClaimScope",
    "DeadLetter",
    "InboxClaim",
    "InboxQueue",
    "LeaseLost",
    "OutboxClaim",
    "OutboxQueue",
    "enqueue_in_transaction",
    "priority_of",
    "purge_audit",
]
