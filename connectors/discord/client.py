"""Thin I/O on discord.py: REST at a configurable address, and the sending connector.

``DiscordHTTP`` is discord.py's own ``HTTPClient`` (route buckets, the global limit, 429
handling), pointed per instance at ``[discord] api_url`` and at the gateway address that
``GET /gateway/bot`` returns.

Why a subclass and not ``discord.http.Route.BASE``: in discord.py 2.7.1 every REST URL is
built from the class attribute ``Route.BASE`` when a ``Route`` is made, deep inside the
library, so setting it would change every client in the process and leak between tests. A
``Route`` subclass would not help either, since the library builds its own ``Route``
objects. All of them pass through ``HTTPClient.request``, though, so this class rebases
``route.url`` there, per instance. Likewise the gateway: ``Client.connect`` opens the
library default (``DiscordWebSocket.DEFAULT_GATEWAY``) through ``HTTPClient.ws_connect``,
and this class swaps in the URL discovered from ``GET /gateway/bot``, which is also what
Discord asks bots to use. Interaction callbacks and follow-ups are sent through
``request`` as well (not through discord.py's webhook adapter, which would bypass it).

With a ``DiscordGate`` (the server's), Discord's rate limits are shared by every replica
(``connectors.discord.gate``): each answer discord.py receives is observed through an
aiohttp trace on its session (so the 429s it waits out itself count too), and the three
sends below wait for the route's keys first, or raise ``RateLimited`` while one is closed
for longer than the gate waits. Start-up requests (log-in, the gateway, command
registration) and interaction callbacks are observed but never held back.

``DiscordConnector.send`` delivers one outbox row:

- the reply to a slash command edits the deferred response (``PATCH .../@original``,
  idempotent, so a retried send cannot post twice); other messages for that interaction
  are follow-ups; once the 15-minute token has expired, or Discord no longer knows it,
  the message goes to the channel instead;
- everything else is a channel message (a reply to the mentioning message, when there
  is one) with a ``nonce`` derived from the outbox key and ``enforce_nonce``, so Discord
  drops a duplicate created by a retry after a lost response.

Failures become the outbox's errors: 429 -> ``RateLimited`` with its retry-after (the
attempt does not count towards the dead letters), 5xx and
network errors -> ``DeliveryError``, 403/404 (missing access, unknown channel) and other
4xx -> ``Undeliverable``.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.clock import Clock
from bot.messages import Outgoing, OutgoingKind, Platform
from bot.pipeline.delivery import DeliveryError, RateLimited, Undeliverable
from connectors.discord.gate import DiscordGate
from connectors.discord.protocol import RECEIVED_HINT, TOKEN_HINT
from connectors.discord.render import render_message

# An interaction token is valid for 15 minutes; keep a margin for the request itself.
TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_MARGIN = timedelta(seconds=30)
# discord.py sleeps through shorter rate limits itself; longer ones surface as errors
MAX_RATE_LIMIT_WAIT = 30.0
DEFAULT_RETRY_AFTER = 5.0


class DiscordHTTP(discord.http.HTTPClient):
    """discord.py's REST client, sending to ``api_url`` and connecting to the found gateway."""

    def __init__(
        self,
        api_url: str,
        *,
        loop: asyncio.AbstractEventLoop | Any = None,
        gate: DiscordGate | None = None,
    ) -> None:
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._answered)
        super().__init__(
            loop if loop is not None else asyncio.get_running_loop(),
            max_ratelimit_timeout=MAX_RATE_LIMIT_WAIT,
            http_trace=trace,
        )
        self._gate = gate
        # the route of the request this task is making, for the trace to name its keys
        self._route: contextvars.ContextVar[Route | None] = contextvars.ContextVar(
            "discord_route", default=None
        )
        self._api_url = api_url.rstrip("/")
        self._login_lock = asyncio.Lock()
        self.gateway_url: str | None = None
        self.user_id: str | None = None

    async def log_in(self, token: str) -> str:
        """Open the session and check the token once (``GET /users/@me``); the bot's id.

        A failed attempt leaves no session behind, so the next call starts afresh.
        """
        async with self._login_lock:
            if self.user_id is None:
                await self.close()
                data = await self.static_login(token)
                self.user_id = str(data["id"])
            return self.user_id

    async def request(self, route: Route, **kwargs: Any) -> Any:
        if route.url.startswith(Route.BASE):
            route.url = self._api_url + route.url[len(Route.BASE) :]
        current = self._route.set(route)
        try:
            return await super().request(route, **kwargs)
        finally:
            self._route.reset(current)

    async def _gated(self, route: Route, **kwargs: Any) -> Any:
        """A send: wait for the route's shared gate keys, then make the request."""
        if self._gate is not None:
            await self._gate.wait(route, self._bucket_hashes.get(route.key))
        return await self.request(route, **kwargs)

    async def _answered(
        self,
        _session: aiohttp.ClientSession,
        _context: Any,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        route = self._route.get()
        if self._gate is not None and route is not None:
            await self._gate.observe(route, params.response.status, params.response.headers)

    async def ws_connect(self, url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        default = DiscordWebSocket.DEFAULT_GATEWAY
        asked = yarl.URL(url)
        if self.gateway_url is not None and asked.with_query(None) == default:
            url = str(yarl.URL(self.gateway_url).with_query(asked.query))
        return await super().ws_connect(url, compress=compress)

    async def discover_gateway(self) -> int:
        """Ask ``GET /gateway/bot`` where to connect; return the identifies left today."""
        _shards, url, limits = await self.get_bot_gateway()
        self.gateway_url = url
        return int(limits["remaining"])

    async def create_message(self, channel_id: str, payload: dict[str, Any]) -> Any:
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        return await self._gated(route, json=payload)

    async def interaction_callback(
        self, interaction_id: str, token: str, payload: dict[str, Any]
    ) -> Any:
        route = Route(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            interaction_id=interaction_id,
            interaction_token=token,
        )
        return await self.request(route, json=payload)

    async def edit_original(self, application_id: str, token: str, payload: dict[str, Any]) -> Any:
        route = Route(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            webhook_id=application_id,
            webhook_token=token,
        )
        return await self._gated(route, json=payload)

    async def follow_up(self, application_id: str, token: str, payload: dict[str, Any]) -> Any:
        route = Route(
            "POST",
            "/webhooks/{webhook_id}/{webhook_token}",
            webhook_id=application_id,
            webhook_token=token,
        )
        return await self._gated(route, json=payload)


class DiscordConnector:
    """Sends outbox rows for Discord over REST; see the module docstring for the rules."""

    def __init__(
        self,
        http: DiscordHTTP,
        *,
        token: str,
        application_id: str,
        clock: Clock,
        log: logging.Logger,
    ) -> None:
        self._http = http
        self._token = token
        self._application_id = application_id
        self._clock = clock
        self._log = log

    @property
    def platform(self) -> Platform:
        return Platform.DISCORD

    async def send(self, message: Outgoing) -> None:
        if message.kind is OutgoingKind.ACKNOWLEDGEMENT:
            return  # the deferred "thinking..." state already acknowledges a command
        payload = render_message(message.reply)
        try:
            await self._http.log_in(self._token)
            if await self._send_to_interaction(message, payload):
                return
            await self._send_to_channel(message, payload)
        except discord.RateLimited as exc:
            reason = f"Discord rate limit: retry after {exc.retry_after:g}s"
            raise RateLimited(reason, exc.retry_after) from exc
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        except discord.LoginFailure as exc:
            raise DeliveryError("Discord refused the bot token (401)") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"Discord unreachable: {type(exc).__name__}: {exc}") from exc

    async def _send_to_interaction(self, message: Outgoing, payload: dict[str, Any]) -> bool:
        token = message.target.hint(TOKEN_HINT)
        received = message.target.hint(RECEIVED_HINT)
        if token is None or received is None:
            return False
        if self._clock.now() >= datetime.fromisoformat(received) + TOKEN_LIFETIME - TOKEN_MARGIN:
            return False
        answers = message.kind is OutgoingKind.REPLY
        try:
            if answers:
                await self._http.edit_original(self._application_id, token, payload)
            else:
                await self._http.follow_up(self._application_id, token, payload)
        except discord.NotFound:
            self._log.info(
                "interaction token no longer valid; posting to the channel",
                extra={"outbox_key": message.key},
            )
            return False
        return True

    async def _send_to_channel(self, message: Outgoing, payload: dict[str, Any]) -> None:
        target = message.target
        body = {**payload, "nonce": nonce(message.key), "enforce_nonce": True}
        if target.message is not None:
            body["message_reference"] = {"message_id": target.message, "fail_if_not_exists": False}
        await self._http.create_message(target.thread or target.channel, body)


def nonce(key: str) -> str:
    """A 25-character nonce for an outbox key: Discord's limit, stable across retries."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


def delivery_error(exc: discord.HTTPException) -> DeliveryError:
    """The outbox's view of a failed Discord request."""
    what = f"Discord {exc.status}" + (f" (code {exc.code})" if exc.code else "")
    reason = f"{what}: {exc.text}" if exc.text else what
    if exc.status == 429:
        return RateLimited(reason, _retry_after(exc))
    if exc.status >= 500 or exc.status in (401, 408):
        return DeliveryError(reason)
    return Undeliverable(reason)


def _retry_after(exc: discord.HTTPException) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    try:
        return max(0.0, float(headers.get("Retry-After", DEFAULT_RETRY_AFTER)))
    except ValueError:
        return DEFAULT_RETRY_AFTER
