"""``chatops shell``: each input line is one command from the local user.

Every line goes through the real pipeline (inbox row, worker, router, outbox
row, sender) and the shell connector prints the rendered reply. The session
waits for each reply before reading the next line, so output keeps the order
of input. It claims only its own rows, so it can share a database with a
running server (or another shell) without taking or printing their work.
It works interactively (a prompt on a terminal) and from a pipe:
``echo ping | chatops shell`` prints the reply and exits 0. A line may start with the
bot's mention or slash command (``@chatops ping``), as in a chat (``protocol``).

Replies go to one channel per shell user (``local:<user>``), not per session: a channel
default (``use``) and subscriptions made in one session belong to the next one too.
Deliveries stay keyed per session, so two sessions never take each other's replies.

That channel is a mailbox. What a serving process queues for it (a subscribed
repository's run results and alerts, the result of a ``rescan`` asked here) waits in the
outbox, which every replica shares and none sends (no ``serve`` has a shell connector),
until ``deliver_waiting`` prints it in the user's next interactive session. The answer to
a line of another session is left alone while that session may still wait for it
(``reply_timeout``); an older one was given up, and is delivered like any other message.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

from bot.messages import Actor, Invocation, OutgoingKind, Place, Platform, ReplyTarget
from bot.pipeline.assembly import Pipeline
from bot.pipeline.keys import reply_key
from bot.store.models import OutboxItem, OutboxStatus
from connectors.shell.client import ShellConnector
from connectors.shell.protocol import command_text

PROMPT = "chatops> "
IDLE_PAUSE = 0.02
AWAY = "While you were away:"  # the heading of what waited for a session's start
MEANWHILE = "Meanwhile:"  # the heading of what came during a session


class ShellSession:
    def __init__(
        self,
        pipeline: Pipeline,
        connector: ShellConnector,
        *,
        user: str,
        reply_timeout: float,
        prefixes: Sequence[str] = (),
    ) -> None:
        self._pipeline = pipeline
        self._connector = connector
        self._actor = Actor(platform=Platform.SHELL, id=user, name=user)
        self._session = uuid.uuid4().hex
        self._reply_to = ReplyTarget(
            platform=Platform.SHELL, channel=local_channel(user), place=Place.SESSION
        )
        self._reply_timeout = reply_timeout
        self._count = 0
        self._prefixes = tuple(prefixes)

    async def run_line(self, line: str) -> None:
        """Submit one line and drive the pipeline until its reply is delivered."""
        self._count += 1
        invocation = Invocation(
            id=uuid.uuid4().hex,
            platform=Platform.SHELL,
            actor=self._actor,
            text=command_text(line, self._prefixes),
            reply_to=self._reply_to,
            delivery_key=f"{self._session}:{self._count}",
            received_at=self._pipeline.clock.now(),
        )
        await self._pipeline.submit(invocation)
        await self._drive_until_replied(invocation.delivery_key, reply_key(invocation.id))

    async def _drive_until_replied(self, delivery_key: str, key: str) -> None:
        """Run this line's command and send its reply, and nobody else's work."""
        async with asyncio.timeout(self._reply_timeout):
            while key not in self._connector.delivered:
                worked = await self._pipeline.inbox_worker.run_once(keys=[delivery_key])
                worked += await self._pipeline.sender.run_once(keys=[key])
                if worked:
                    continue
                row = await OutboxItem.get_or_none(key=key)
                if row is not None and row.status is OutboxStatus.DEAD:
                    raise ShellDeliveryFailed(row.last_error or "the reply could not be delivered")
                await asyncio.sleep(IDLE_PAUSE)

    async def deliver_waiting(self, heading: str) -> int:
        """Print what waits for this user's channel, oldest first, under ``heading``;
        return how many messages were printed (no heading when none)."""
        keys = await self._waiting_keys()
        before = self._connector.printed
        self._connector.heading = heading
        try:
            while keys:
                if not await self._pipeline.sender.run_once(keys=keys):
                    break  # claimed by someone else, or waiting for a retry
                keys = [key for key in keys if key not in self._connector.delivered]
        finally:
            self._connector.heading = None
        return self._connector.printed - before

    async def _waiting_keys(self) -> list[str]:
        channel = self._reply_to.channel
        answered_by = self._pipeline.clock.now() - timedelta(seconds=self._reply_timeout)
        rows = await OutboxItem.filter(
            platform=Platform.SHELL.value, status=OutboxStatus.PENDING
        ).order_by("available_at", "id")
        return [
            row.key
            for row in rows
            if row.target.get("channel") == channel
            and not (row.kind == OutgoingKind.REPLY.value and _utc(row.created_at) > answered_by)
        ]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_channel(user: str) -> str:
    """The shell user's one channel: the same in every session, so ``use`` and ``subscribe``
    made in one session are seen, and can be undone, in the next."""
    return f"local:{user}"


class ShellDeliveryFailed(Exception):
    pass


async def read_lines(stream: TextIO, prompt_to: TextIO | None) -> AsyncIterator[str]:
    """Yield non-blank input lines; prompt first when interactive.

    The read blocks the event loop on purpose: between lines the session has
    nothing else to run, and a blocking read lets Ctrl-C and end of input stop
    the shell at once (a read in a worker thread would outlive them).
    """
    while True:
        if prompt_to is not None:
            prompt_to.write(PROMPT)
            prompt_to.flush()
        line = stream.readline()
        if not line:
            if prompt_to is not None:
                prompt_to.write("\n")  # end the prompt line on Ctrl-D
            return
        if line.strip():
            yield line
