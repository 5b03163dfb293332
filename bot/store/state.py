"""Small named values that must survive restarts: recovery cursors, last-seen markers.

One JSON value per name. Writes replace the whole value; there is no merging. Values are
for the bot's own bookkeeping and never hold secrets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.models import StateEntry


class StateStore:
    async def get(self, name: str) -> Any | None:
        entry = await StateEntry.get_or_none(name=name)
        return None if entry is None else entry.value

    async def put(self, name: str, value: Any, now: datetime) -> None:
        await StateEntry.update_or_create(defaults={"value": value, "updated_at": now}, name=name)
