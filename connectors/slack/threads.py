"""What a thread the bot started is about: the forge target a reply there implies.

When the bot posts a top-level message whose reply target carries a ``subject`` hint (a
command result about ``acme/web#12``, a run notification), ``remember`` stores
``channel + ts -> subject``. A later mention in that thread (``@chatops rerun``) gets the
subject as its ``Invocation.target`` through ``recall``, so the user need not repeat it.

Stored in the ``StateStore`` under ``slack:thread:<channel>:<ts>``; values are target
strings as users wrote them, parsed again by ``protocol`` (an unreadable one is ignored).
Not done: expiring old entries (housekeeping of the state table is the core's concern).
"""

from __future__ import annotations

from datetime import datetime

from bot.store.state import StateStore


def _name(channel: str, ts: str) -> str:
    return f"slack:thread:{channel}:{ts}"


class ThreadSubjects:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def remember(self, channel: str, ts: str, subject: str, now: datetime) -> None:
        await self._state.put(_name(channel, ts), {"subject": subject}, now)

    async def recall(self, channel: str, ts: str) -> str | None:
        value = await self._state.get(_name(channel, ts))
        if not isinstance(value, dict) or not isinstance(value.get("subject"), str):
            return None
        return str(value["subject"])
