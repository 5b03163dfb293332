"""Discord events into the inbox: gateway frames and the HTTP interactions endpoint.

Slash commands over the gateway: acknowledge at once with a deferred response (type 5,
"thinking...", inside Discord's 3-second window), then submit the ``Invocation`` keyed
``discord:interaction:<id>``; its reply later edits that response (see ``client``). If
the inbox cannot take it, the deferred response is edited to say so, so nobody waits on
"thinking..." for an answer that will never come.

Slash commands over HTTP (``POST /discord/interactions``): verify the Ed25519 signature
on the raw body first (401 and nothing else when it fails: Discord probes endpoints with
bad signatures), answer PING with PONG, submit the invocation, and make the deferred
response the HTTP answer. A request we cannot persist gets 503, so Discord tells the user
it failed rather than leaving them waiting.

Mentions (MESSAGE_CREATE): every command line after ``@bot`` becomes an ``Invocation``
keyed ``discord:message:<id>``, answered as a reply to that message.

Redelivered events (a gateway resume replays them) meet the inbox's unique delivery key
and are dropped there, so they never produce a second answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import discord
from aiohttp import web

from bot.clock import Clock
from bot.messages import Invocation
from bot.pipeline import Pipeline
from connectors.discord.client import DiscordHTTP
from connectors.discord.definitions import OptionError, SlashCommands
from connectors.discord.protocol import (
    EPHEMERAL,
    BadSignature,
    CallbackType,
    InteractionType,
    decode_interaction,
    decode_mentions,
    verify_signature,
)
from connectors.discord.render import ALLOWED_MENTIONS, escape

NOT_ACCEPTED = "Sorry, this command could not be accepted just now. Please try again."
NOT_HANDLED = "This bot does not handle that interaction."
AUTOCOMPLETE_RESULT = 8


class DiscordInbound:
    def __init__(
        self,
        *,
        slash: SlashCommands,
        http: DiscordHTTP,
        application_id: str,
        pipeline: Callable[[], Pipeline],
        clock: Clock,
        log: logging.Logger,
        public_key: str = "",
        signature_max_age: float = 300.0,
    ) -> None:
        self._slash = slash
        self._http = http
        self._application_id = application_id
        self._pipeline = pipeline
        self._clock = clock
        self._log = log
        self._public_key = public_key
        self._max_age = signature_max_age

    # --- gateway ------------------------------------------------------------------------

    async def on_gateway_event(self, event: str, data: Mapping[str, Any], bot_user_id: str) -> None:
        if event == "INTERACTION_CREATE":
            await self._gateway_interaction(data)
        elif event == "MESSAGE_CREATE":
            for invocation in decode_mentions(data, bot_user_id, self._clock.now()):
                await self._submit(invocation)

    async def _gateway_interaction(self, data: Mapping[str, Any]) -> None:
        if data.get("type") != InteractionType.APPLICATION_COMMAND:
            return
        interaction_id, token = str(data.get("id")), str(data.get("token"))
        try:
            receipt = decode_interaction(data, self._slash, self._clock.now())
        except OptionError as exc:
            await self._callback(interaction_id, token, _message(_out_of_date(exc)))
            return
        if receipt is None:
            await self._callback(interaction_id, token, _message(NOT_HANDLED))
            return
        deferred = await self._callback(
            interaction_id, token, {"type": CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
        )
        try:
            await self._submit(receipt.invocation)
        except Exception:
            self._log.exception("could not accept a slash command", extra=_ids(receipt.invocation))
            if deferred:
                await self._apologise(token)

    async def _callback(self, interaction_id: str, token: str, payload: dict[str, Any]) -> bool:
        try:
            await self._http.interaction_callback(interaction_id, token, payload)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            # too late (unknown interaction) or answered already (a replayed event)
            self._log.warning("interaction %s not acknowledged: %s", interaction_id, exc)
            return False
        return True

    async def _apologise(self, token: str) -> None:
        payload = {"content": NOT_ACCEPTED, "allowed_mentions": ALLOWED_MENTIONS}
        try:
            await self._http.edit_original(self._application_id, token, payload)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            self._log.warning("could not tell the user: %s", exc)

    # --- HTTP endpoint ------------------------------------------------------------------

    async def handle_http(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify_signature(
                self._public_key,
                signature=request.headers.get("X-Signature-Ed25519"),
                timestamp=request.headers.get("X-Signature-Timestamp"),
                body=body,
                now=self._clock.now().timestamp(),
                max_age=self._max_age,
            )
        except BadSignature as exc:
            self._log.warning("refused an interaction: %s", exc.reason)
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            payload = json.loads(body)
            kind = payload["type"]
        except (ValueError, TypeError, KeyError):
            return web.json_response({"error": "expected an interaction object"}, status=400)
        if kind == InteractionType.PING:
            return web.json_response({"type": CallbackType.PONG})
        if kind == InteractionType.AUTOCOMPLETE:
            return web.json_response({"type": AUTOCOMPLETE_RESULT, "data": {"choices": []}})
        try:
            receipt = decode_interaction(payload, self._slash, self._clock.now())
        except OptionError as exc:
            return web.json_response(_message(_out_of_date(exc)))
        except (KeyError, TypeError, AttributeError):
            return web.json_response({"error": "expected an interaction object"}, status=400)
        if receipt is None:
            return web.json_response(_message(NOT_HANDLED))
        try:
            await self._submit(receipt.invocation)
        except Exception:
            self._log.exception("could not accept a slash command", extra=_ids(receipt.invocation))
            return web.json_response({"error": "not accepted; try again"}, status=503)
        return web.json_response({"type": CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE})

    # --- both ---------------------------------------------------------------------------

    async def _submit(self, invocation: Invocation) -> None:
        await self._pipeline().submit(invocation)


def _message(content: str) -> dict[str, Any]:
    """An immediate, ephemeral answer that pings nobody."""
    return {
        "type": CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
        "data": {"content": content, "flags": EPHEMERAL, "allowed_mentions": ALLOWED_MENTIONS},
    }


def _out_of_date(exc: OptionError) -> str:
    return escape(f"The slash command is out of date ({exc}); try again shortly.")


def _ids(invocation: Invocation) -> dict[str, str]:
    return {"invocation_id": invocation.id, "delivery_key": invocation.delivery_key}
