"""``POST /webhooks/gitlab``: authenticate, persist, answer, in that order and nothing more.

GitLab waits 10 seconds, does not retry a failed delivery, and disables a hook after four
failures in a row, so the handler does only what must happen before the answer: cap the
body, check the token (and the signature), decode, and write the commands to the inbox
(with their 👀 award emoji acknowledgement). Running commands and replying happen later,
in the workers.

Answers, in the order they are decided:
- 401 for a missing or wrong ``X-Gitlab-Token`` (checked before the body is even read);
- 413 for a body over the cap (from ``Content-Length`` before reading, or while reading);
- 401 for a signature that does not hold (or is missing while ``require_signature`` is
  set); after a 401 nothing else happens and nothing is stored;
- 400 only for a token-authenticated delivery that is not an event at all: no
  ``X-Gitlab-Event``, a body that is not a JSON object, or an event without the fields it
  promises. Only a misconfigured sender holding our token produces one;
- 200 for everything else: ``{"accepted": n, "duplicates": m}`` for commands, ``{"ignored":
  reason}`` for a well-formed event the bot does not act on (never a 4xx: see above),
  ``{"observed": event}`` for a CI update.

A CI update (``Pipeline Hook``) is handed to the run tracker before answering. If that fails
the answer is still 200 (``{"observed": false, ...}``), and the failure is logged: a 5xx
would not make GitLab retry, it would only count towards disabling the hook, which then
loses every later delivery, commands included. The run is not lost either: the stuck-run
reconciler (``bot.runs``) polls runs that have not finished and records their outcome.

Invariants: the token is checked over the raw request before anything parses the body; a
redelivered command (same delivery key) inserts nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.forge import CiEventSink
from bot.pipeline import Pipeline
from connectors.gitlab import tokens
from connectors.gitlab.events import (
    CiDecoder,
    CiUpdate,
    Commands,
    DeliveryIds,
    Identity,
    Ignored,
    decode,
)

READ_CHUNK = 64 * 1024
TOKEN_HEADER = "X-Gitlab-Token"
EVENT_HEADER = "X-Gitlab-Event"


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class WebhookReceiver:
    tokens: Sequence[str]
    signing_tokens: Sequence[str]
    require_signature: bool
    identity: Identity
    pipeline: Callable[[], Pipeline]
    ci_events: Callable[[], CiEventSink | None]
    max_body_bytes: int
    clock: Clock
    log: logging.Logger
    decode_ci: CiDecoder | None = None
    new_id: Callable[[], str] = field(default=_new_id)

    async def handle(self, request: web.Request) -> web.Response:
        if not tokens.token_matches(request.headers.get(TOKEN_HEADER), self.tokens):
            self.log.warning("rejected a GitLab delivery with a missing or wrong token")
            return _error(401, "invalid token")
        if (request.content_length or 0) > self.max_body_bytes:
            return _error(413, "payload too large")
        body = await self._read(request)
        if body is None:
            return _error(413, "payload too large")
        if not self._signature_holds(request, body):
            self.log.warning("rejected a GitLab delivery with a bad or missing signature")
            return _error(401, "invalid signature")
        event = request.headers.get(EVENT_HEADER)
        if not event:
            return _error(400, f"missing {EVENT_HEADER}")
        delivery = DeliveryIds(
            idempotency_key=request.headers.get("Idempotency-Key"),
            event_uuid=request.headers.get("X-Gitlab-Event-UUID"),
            webhook_uuid=request.headers.get("X-Gitlab-Webhook-UUID"),
        )
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            decoded = decode(
                event,
                payload,
                delivery=delivery,
                identity=self.identity,
                received_at=self.clock.now(),
                new_id=self.new_id,
                decode_ci=self.decode_ci,
            )
        except (ValueError, KeyError, TypeError) as exc:
            self.log.warning("malformed GitLab delivery of %s: %s", event, type(exc).__name__)
            return _error(400, "malformed payload")
        return await self._act(decoded, event)

    def _signature_holds(self, request: web.Request, body: bytes) -> bool:
        if not self.signing_tokens:
            return True  # nothing to check against: the token alone authenticates
        verdict = tokens.check_signature(
            body, request.headers, self.signing_tokens, self.clock.now()
        )
        if verdict is tokens.Signature.ABSENT:
            return not self.require_signature
        return verdict is tokens.Signature.VALID

    async def _act(self, decoded: Any, event: str) -> web.Response:
        if isinstance(decoded, Ignored):
            self.log.debug("ignored %s: %s", event, decoded.reason)
            return web.json_response({"ignored": decoded.reason})
        if isinstance(decoded, CiUpdate):
            return await self._observe(decoded, event)
        assert isinstance(decoded, Commands)
        pipeline = self.pipeline()
        accepted = 0
        for invocation in decoded.invocations:
            accepted += await pipeline.submit(invocation, acknowledge=True)
        duplicates = len(decoded.invocations) - accepted
        return web.json_response({"accepted": accepted, "duplicates": duplicates})

    async def _observe(self, update: CiUpdate, event: str) -> web.Response:
        sink = self.ci_events()
        if sink is None:
            return web.json_response({"ignored": "no CI tracking"})
        try:
            await sink.observe(update.event)
        except Exception:
            self.log.exception(
                "could not record a GitLab %s; the stuck-run reconciler will catch up", event
            )
            return web.json_response(
                {"observed": False, "reason": "not recorded; the reconciler will catch up"}
            )
        return web.json_response({"observed": event})

    async def _read(self, request: web.Request) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(READ_CHUNK):
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
