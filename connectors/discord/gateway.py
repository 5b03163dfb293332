"""The gateway session: a discord.py client, held by one replica at a time.

``GatewayClient`` is a ``discord.Client`` with only the intents the bot needs (guilds,
guild messages, direct messages; not the privileged MESSAGE_CONTENT: messages that mention
the bot carry their content anyway). discord.py keeps the session alive (heartbeats,
resume, reconnect); we read the raw INTERACTION_CREATE and MESSAGE_CREATE frames it
receives and hand them on, so the gateway and the HTTP endpoint decode the same objects.
It has no ``CommandTree``: the slash command is generated from the router's commands as
data (``definitions``), which a tree, built from decorated functions, cannot express.

``GatewayLeader`` makes sure at most one replica holds the session: it takes the lease
``discord:gateway`` (``bot.store.leases``), renews it every third of its time to live,
opens the session while it holds it and closes the session as soon as it cannot be sure
it still does (renewal refused, or failing until the lease would have expired). A session
that ends on its own (a bad token, an outage) is opened again on the next renewal.

Invariants: at most one open session per process; the lease is released on stop; every
wait is bounded by the renewal interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import discord

from bot.clock import Clock
from bot.store.leases import Leases
from connectors.discord.client import DiscordHTTP

LEASE_NAME = "discord:gateway"
EVENTS = frozenset({"INTERACTION_CREATE", "MESSAGE_CREATE"})

# (event name, event data, the bot's own user id)
EventHandler = Callable[[str, Mapping[str, Any], str], Awaitable[None]]


def gateway_intents() -> discord.Intents:
    """Guilds, guild messages, direct messages: nothing privileged."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    return intents


class GatewayClient(discord.Client):
    """A gateway session that hands the frames we handle to ``on_event``."""

    def __init__(self, *, api_url: str, on_event: EventHandler, log: logging.Logger) -> None:
        super().__init__(
            intents=gateway_intents(),
            enable_debug_events=True,  # raw frames reach on_socket_raw_receive
            max_messages=None,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        # discord.py builds its HTTPClient in Client.__init__ and hands it to its state;
        # both must use ours, which knows api_url and the discovered gateway (see client.py)
        self.http = DiscordHTTP(api_url, loop=self.loop)
        self._connection.http = self.http
        self._on_event = on_event
        self._log = log

    @property
    def discord_http(self) -> DiscordHTTP:
        assert isinstance(self.http, DiscordHTTP)
        return self.http

    async def run_session(self, token: str) -> None:
        """Log in, find the gateway, and stay connected until closed."""
        await self.login(token)
        remaining = await self.discord_http.discover_gateway()
        if remaining < 1:
            # Discord resets the token of a bot that identifies too often (1,000 a day)
            raise GatewayUnavailable("no session starts left today (GET /gateway/bot)")
        await self.connect(reconnect=True)

    async def on_socket_raw_receive(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        if frame.get("op") != 0 or frame.get("t") not in EVENTS:
            return
        try:
            bot_user_id = str(self.user.id) if self.user is not None else ""
            await self._on_event(str(frame["t"]), frame.get("d") or {}, bot_user_id)
        except Exception:
            self._log.exception("handling a %s event failed", frame.get("t"))


class GatewayUnavailable(Exception):
    pass


class GatewayLeader:
    """Holds the gateway lease and the session that goes with it; see the module docstring."""

    def __init__(
        self,
        *,
        leases: Leases,
        clock: Clock,
        holder: str,
        ttl: float,
        open_session: Callable[[], GatewaySession],
        log: logging.Logger,
    ) -> None:
        self._leases = leases
        self._clock = clock
        self._holder = holder
        self._ttl = timedelta(seconds=ttl)
        self._interval = ttl / 3
        self._open_session = open_session
        self._log = log
        self._held_until: datetime | None = None
        self.session: GatewaySession | None = None
        self.steps = 0  # renewal rounds done: for operators' curiosity and for tests

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except Exception:
                    self._log.exception("gateway leadership step failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._interval)
        finally:
            await self._close_session()
            with contextlib.suppress(Exception):
                await self._leases.release(LEASE_NAME, self._holder)

    async def step(self) -> None:
        """Renew or take the lease, then open or close the session to match."""
        self.steps += 1
        held = await self._renew()
        if self.session is not None and self.session.done():
            self._log.warning("gateway session ended: %s", self.session.outcome())
            await self._close_session()
        if held and self.session is None:
            self._log.info("gateway lease taken; connecting")
            self.session = self._open_session()
        elif not held and self.session is not None:
            self._log.warning("gateway lease lost; disconnecting")
            await self._close_session()

    async def _renew(self) -> bool:
        now = self._clock.now()
        try:
            held = await self._leases.acquire(LEASE_NAME, self._holder, now, self._ttl)
        except Exception:
            self._log.exception("could not renew the gateway lease")
            # keep the session only while the lease we last took is surely still ours
            return (
                self._held_until is not None
                and now + timedelta(seconds=self._interval) < self._held_until
            )
        self._held_until = now + self._ttl if held else None
        return held

    async def _close_session(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.close()


class GatewaySession:
    """One ``GatewayClient`` running in a task."""

    def __init__(self, client: GatewayClient, token: str) -> None:
        self.client = client
        self._task = asyncio.create_task(client.run_session(token), name="discord-gateway")

    def done(self) -> bool:
        return self._task.done()

    def outcome(self) -> str:
        if self._task.cancelled():
            return "cancelled"
        exc = self._task.exception()
        return "closed" if exc is None else f"{type(exc).__name__}: {exc}"

    async def close(self) -> None:
        await self.client.close()
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
