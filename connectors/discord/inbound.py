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

Hostile input: the HTTP endpoint refuses a request without exactly one signature and one
timestamp header before reading its body, reads the body capped and timed with a bound
on unverified bodies (``connectors.webhook_body``), and answers 400 for a signed body
that is not a JSON object (nesting too deep included). A mention's command lines are cut
to the budget (``connectors.budget``): an over-long line and the lines beyond the budget
are answered by notices; an over-long slash command gets an ephemeral usage error at once.
Refusals are counted and logged sparingly (``connectors.rejections``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import discord
from aiohttp import web

from bot.clock import Clock
from bot.messages import Invocation, Outgoing
from bot.metrics import Counter
from bot.pipeline.intake import Intake
from bot.pipeline.keys import notice_key
from bot.storable import storable_invocation, storable_reply, storable_target
from connectors import budget
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
from connectors.rejections import Rejections
from connectors.webhook_body import (
    BodyLimits,
    BodyTimeout,
    BodyTooLarge,
    Busy,
    UnverifiedBodies,
    read_body,
)

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
        intake: Intake,
        clock: Clock,
        log: logging.Logger,
        public_key: str = "",
        signature_max_age: float = 300.0,
        limits: budget.Limits | None = None,
        body_timeout: float = 10.0,
        max_body_bytes: int = 1024**2,
        unverified: UnverifiedBodies | None = None,
        rejected: Counter | None = None,
    ) -> None:
        self._slash = slash
        self._http = http
        self._application_id = application_id
        self._intake = intake
        self._clock = clock
        self._log = log
        self._public_key = public_key
        self._max_age = signature_max_age
        self._limits = limits or budget.Limits()
        self._body = BodyLimits(max_bytes=max_body_bytes, read_timeout=body_timeout)
        self._unverified = unverified or UnverifiedBodies(4, 1.0)
        self._rejections = Rejections(
            door="discord",
            counter=rejected or Counter("rejected", "refused requests"),
            monotonic=clock.monotonic,
            log=log,
        )

    # --- gateway ------------------------------------------------------------------------

    async def on_gateway_event(self, event: str, data: Mapping[str, Any], bot_user_id: str) -> None:
        if event == "INTERACTION_CREATE":
            await self._gateway_interaction(data)
        elif event == "MESSAGE_CREATE":
            await self._mentions(decode_mentions(data, bot_user_id, self._clock.now()))

    async def _mentions(self, invocations: list[Invocation]) -> None:
        """Submit a message's commands within the budget; queue its notices."""
        plan = budget.plan([i.text for i in invocations], self._limits)
        for index, _ in plan.run:
            await self._submit(invocations[index])
        notices = [
            (
                invocations[i],
                f"{invocations[i].delivery_key}:long",
                budget.too_long_reply(line, self._limits),
            )
            for i, line in plan.too_long
        ]
        if plan.dropped:
            first = invocations[0]
            notices.append(
                (first, f"{first.delivery_key}:rest", budget.over_budget_reply(plan, self._limits))
            )
        for invocation, key, reply in notices:
            notice = Outgoing(
                target=storable_target(invocation.reply_to),
                reply=storable_reply(reply),
                key=notice_key(key),
            )
            await self._intake.notify(notice)

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
        if len(receipt.invocation.text) > self._limits.max_chars:
            await self._callback(interaction_id, token, self._too_long(receipt.invocation))
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
        signature = request.headers.getall("X-Signature-Ed25519", [])
        timestamp = request.headers.getall("X-Signature-Timestamp", [])
        if len(signature) != 1 or len(timestamp) != 1:
            self._rejections.reject("duplicate_signature" if signature else "no_signature")
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            async with self._unverified.slot():
                body = await read_body(request, self._body)
        except BodyTooLarge:
            self._rejections.reject("too_large")
            return web.json_response({"error": "payload too large"}, status=413)
        except BodyTimeout:
            self._rejections.reject("body_timeout")
            return web.json_response({"error": "the body did not arrive in time"}, status=408)
        except Busy:
            self._rejections.reject("busy")
            return web.json_response({"error": "busy; try again"}, status=503)
        try:
            verify_signature(
                self._public_key,
                signature=signature[0],
                timestamp=timestamp[0],
                body=body,
                now=self._clock.now().timestamp(),
                max_age=self._max_age,
            )
        except BadSignature as exc:
            self._rejections.reject("bad_signature", exc.reason)
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            payload = json.loads(body)
            kind = payload["type"]
        except (ValueError, TypeError, KeyError, RecursionError):
            self._rejections.reject("malformed")
            return web.json_response({"error": "expected an interaction object"}, status=400)
        if kind == InteractionType.PING:
            return web.json_response({"type": CallbackType.PONG})
        if kind == InteractionType.AUTOCOMPLETE:
            return web.json_response({"type": AUTOCOMPLETE_RESULT, "data": {"choices": []}})
        try:
            receipt = decode_interaction(payload, self._slash, self._clock.now())
        except OptionError as exc:
            return web.json_response(_message(_out_of_date(exc)))
        except (KeyError, TypeError, AttributeError, ValueError):
            self._rejections.reject("malformed")
            return web.json_response({"error": "expected an interaction object"}, status=400)
        if receipt is None:
            return web.json_response(_message(NOT_HANDLED))
        if len(receipt.invocation.text) > self._limits.max_chars:
            return web.json_response(self._too_long(receipt.invocation))
        try:
            await self._submit(receipt.invocation)
        except Exception:
            self._log.exception("could not accept a slash command", extra=_ids(receipt.invocation))
            return web.json_response({"error": "not accepted; try again"}, status=503)
        return web.json_response({"type": CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE})

    # --- both ---------------------------------------------------------------------------

    async def _submit(self, invocation: Invocation) -> None:
        await self._intake.submit(storable_invocation(invocation))

    def _too_long(self, invocation: Invocation) -> dict[str, Any]:
        reply = budget.too_long_reply(invocation.text, self._limits)
        return _message(escape(reply.paragraphs[0]))


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
