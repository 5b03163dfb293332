"""The Discord integration: what ``[discord]`` installs into the application.

``start(host)`` (the platform contract, ``bot.platforms``) logs in over REST (discord.py's
client, whose rate limits are shared with every replica through the rate gate in the
store: ``connectors.discord.gate``), provides the ``DiscordConnector`` so every replica
can send, and registers the slash command where it changed
(``discord:commands:<application>:<scope>`` in the state store holds the last
definition's fingerprint). Once the host's intake is open (the pipeline exists before the
first event), the ``GatewayLeader`` competes for the gateway lease; on exit it closes the
session. With a ``public_key`` it also provides ``POST /discord/interactions``. With the
gateway, it provides a readiness check: ``/readyz`` names ``discord`` while this replica
holds the lease but its session is not connected (a replica without the lease is ready).

An outage at start-up does not stop the bot: sends log in again on first use and wait in
the outbox meanwhile. A token Discord refuses (401) does stop it, with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord

from bot.clock import Clock
from bot.config.platforms.discord import DiscordSettings
from bot.messages import Platform
from bot.parts import Route
from bot.pipeline.rate_gate import RateGate
from bot.platforms import PlatformHost, PlatformParts
from bot.router import Command
from bot.store.gates import GateStore
from bot.store.leases import Leases
from bot.store.state import StateStore
from connectors.discord.client import DiscordConnector, DiscordHTTP
from connectors.discord.definitions import SlashCommands
from connectors.discord.gate import DiscordGate, gate_scope
from connectors.discord.gateway import GatewayClient, GatewayLeader, GatewaySession
from connectors.discord.inbound import DiscordInbound
from connectors.front_door import front_door

# a send whose route is closed for longer than this goes back to the outbox
GATE_MAX_WAIT = 5.0


class DiscordStartupError(Exception):
    pass


@dataclass
class DiscordRuntime:
    """What one start of the integration runs: the REST client, the sender, the front
    door, and with the gateway the leader that competes for its lease."""

    http: DiscordHTTP
    connector: DiscordConnector
    inbound: DiscordInbound
    leader: GatewayLeader | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def stop_gateway(self) -> None:
        self.stop.set()
        if self.task is not None:
            task, self.task = self.task, None
            if self.leader is None:  # still waiting for the intake: no lease to give back
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class DiscordIntegration:
    def __init__(
        self,
        settings: DiscordSettings,
        commands: Sequence[Command[Any]],
        *,
        holder: str | None = None,
    ) -> None:
        if settings.bot_token is None:
            raise ValueError("the Discord integration needs [discord] bot_token")
        self._settings = settings
        self._token = settings.bot_token.reveal()
        self._slash = SlashCommands.build(settings.command_name, commands)
        self._holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.runtime: DiscordRuntime | None = None  # while started: what runs (tests read it)

    @property
    def platform(self) -> Platform:
        return Platform.DISCORD

    @asynccontextmanager
    async def start(self, host: PlatformHost) -> AsyncIterator[PlatformParts]:
        settings, log = self._settings, host.log
        gate = RateGate(GateStore(host.database), host.clock, spacing=0.0, max_wait=GATE_MAX_WAIT)
        http = DiscordHTTP(settings.api_url, gate=DiscordGate(gate, gate_scope(self._token)))
        try:
            await http.log_in(self._token)
        except discord.LoginFailure as exc:
            await http.close()
            raise DiscordStartupError("Discord refused [discord] bot_token (401)") from exc
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            log.warning("Discord unreachable at start-up (%s); replies will wait", exc)
        except BaseException:
            await http.close()
            raise
        else:
            if settings.sync_commands:
                await _register(http, settings, self._slash, host.clock, log)
        connector = DiscordConnector(
            http,
            token=self._token,
            application_id=settings.application_id,
            clock=host.clock,
            log=log,
        )
        inbound = DiscordInbound(
            slash=self._slash,
            http=http,
            application_id=settings.application_id,
            intake=host.intake,
            clock=host.clock,
            log=log,
            public_key=settings.public_key,
            signature_max_age=settings.signature_max_age,
            **discord_front_door(host),
        )
        runtime = DiscordRuntime(http=http, connector=connector, inbound=inbound)
        self.runtime = runtime
        routes: tuple[Route, ...] = ()
        if settings.public_key:
            routes = (Route("POST", "/discord/interactions", inbound.handle_http),)
        try:
            if settings.gateway:
                runtime.task = asyncio.create_task(
                    self._lead_gateway(runtime, host), name="discord-leader"
                )
            yield PlatformParts(
                connector=connector,
                routes=routes,
                readiness=(lambda: gateway_problem(runtime)) if settings.gateway else None,
            )
        finally:
            await runtime.stop_gateway()
            await http.close()
            self.runtime = None

    async def _lead_gateway(self, runtime: DiscordRuntime, host: PlatformHost) -> None:
        """Once the intake is open, compete for the gateway lease until told to stop."""
        await host.intake.opened()
        log = host.log.getChild("gateway")

        def open_session() -> GatewaySession:
            client = GatewayClient(
                api_url=self._settings.api_url, on_event=runtime.inbound.on_gateway_event, log=log
            )
            return GatewaySession(client, self._token)

        runtime.leader = GatewayLeader(
            leases=Leases(),
            clock=host.clock,
            holder=self._holder,
            ttl=self._settings.gateway_lease_seconds,
            open_session=open_session,
            log=log,
        )
        await runtime.leader.run(runtime.stop)


async def gateway_problem(runtime: DiscordRuntime) -> str | None:
    """Readiness: None while this replica's gateway session is connected, or while it holds
    no session (another replica holds the lease, which is as it should be)."""
    leader = runtime.leader
    if leader is None:
        return "gateway not started"
    session = leader.session
    if session is None:
        return None
    if session.done():
        return f"gateway session ended ({session.outcome()})"
    return None if session.client.is_ready() else "gateway session not connected"


async def _register(
    http: DiscordHTTP,
    settings: DiscordSettings,
    slash: SlashCommands,
    clock: Clock,
    log: logging.Logger,
) -> None:
    """Overwrite the slash command in each scope whose last registration differs."""
    state = StateStore()
    fingerprint = {"fingerprint": slash.fingerprint()}
    definitions: list[dict[str, Any]] = [slash.definition()]
    for guild in settings.guild_ids or (None,):
        name = f"discord:commands:{settings.application_id}:{guild or 'global'}"
        if await state.get(name) == fingerprint:
            continue
        try:
            if guild is None:
                await http.bulk_upsert_global_commands(settings.application_id, definitions)
            else:
                await http.bulk_upsert_guild_commands(settings.application_id, guild, definitions)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            log.error("could not register /%s in %s: %s", slash.name, guild or "all guilds", exc)
            continue
        await state.put(name, fingerprint, clock.now())
        log.info("registered /%s in %s", slash.name, guild or "all guilds")


def discord_front_door(host: PlatformHost) -> dict[str, Any]:
    """The front-door limits for the HTTP interactions endpoint and mentions."""
    limits = front_door(host)
    return {
        "limits": limits["limits"],
        "body_timeout": limits["body_timeout"],
        "unverified": limits["unverified"],
        "rejected": limits["rejected"],
    }
