"""``POST /webhooks/gitlab``: authenticate, persist, answer, in that order and nothing more.

GitLab waits 10 seconds, does not retry a failed delivery, and disables a hook after four
failures in a row, so the handler does only what must happen before the answer: cap the
body, check the token (and the signature), decode, and write the commands to the inbox
(with their 👀 award emoji acknowledgement). Running commands and replying happen later,
in the workers.

Answers, in the order they are decided:
- 401 for a missing, duplicated or wrong ``X-Gitlab-Token`` (checked before the body is
  even read);
- 413 for a body over the cap (from ``Content-Length`` before reading, or while reading);
  408 for a body that does not arrive within ``body_timeout``;
- 401 for a signature that does not hold (or is missing while ``require_signature`` is
  set); after a 401 nothing else happens and nothing is stored;
- 400 only for a token-authenticated delivery that is not an event at all: no
  ``X-Gitlab-Event``, a body that is not a JSON object (or nests too deep), or an event
  without the fields it promises. Only a misconfigured sender holding our token produces
  one;
- 200 for everything else: ``{"accepted": n, "duplicates": m}`` for commands (with
  ``"notices": k`` when the note broke the budget), ``{"ignored": reason}`` for a
  well-formed event the bot does not act on or whose names fall outside GitLab's grammar
  (never a 4xx: see above), ``{"observed": event}`` for a CI update.

Every refusal is counted per reason and logged at most once a minute
(``connectors.rejections``).

A CI update (``Pipeline Hook``) is handed to the run tracker before answering. If that fails
the answer is still 200 (``{"observed": false, ...}``), and the failure is logged: a 5xx
would not make GitLab retry, it would only count towards disabling the hook, which then
loses every later delivery, commands included. The run is not lost either: the stuck-run
reconciler (``bot.ci.tracker``) polls runs that have not finished and records their outcome.

Invariants: the token is checked over the raw request before anything parses the body; a
note's commands are keyed by the note, so the same note delivered twice, under any
delivery headers, inserts nothing; at most ``limits.max_commands`` invocations, one award
emoji and one budget notice come from one note.
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
from bot.metrics import Counter
from bot.pipeline.intake import Intake
from connectors import budget
from connectors.forge_intake import submit_comment
from connectors.gitlab import protocol
from connectors.gitlab.protocol import (
    CiDecoder,
    CiUpdate,
    Commands,
    DeliveryIds,
    Identity,
    Ignored,
    Invalid,
    decode,
)
from connectors.rejections import Rejections
from connectors.webhook_body import (
    BodyLimits,
    BodyTimeout,
    BodyTooLarge,
    UnverifiedBodies,
    read_body,
)

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
    intake: Intake
    ci_events: CiEventSink | None  # None when no feature follows CI
    max_body_bytes: int
    clock: Clock
    log: logging.Logger
    decode_ci: CiDecoder | None = None
    new_id: Callable[[], str] = field(default=_new_id)
    limits: budget.Limits = field(default_factory=budget.Limits)
    body_timeout: float = 10.0
    # the token is checked before any body is read, so every body read here is from a
    # sender holding a token; the bound is accepted for symmetry with the other doors
    unverified: UnverifiedBodies | None = None
    rejected: Counter | None = None  # the application's rejection counter, if any
    rejections: Rejections = field(init=False)

    def __post_init__(self) -> None:
        self.rejections = Rejections(
            door="gitlab",
            counter=self.rejected or Counter("rejected", "refused requests"),
            monotonic=self.clock.monotonic,
            log=self.log,
        )

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.getall(TOKEN_HEADER, [])
        if len(given) != 1 or not protocol.token_matches(given[0], self.tokens):
            self.rejections.reject("duplicate_token" if len(given) > 1 else "bad_token")
            return _error(401, "invalid token")
        limits = BodyLimits(max_bytes=self.max_body_bytes, read_timeout=self.body_timeout)
        try:
            body = await read_body(request, limits)
        except BodyTooLarge:
            self.rejections.reject("too_large")
            return _error(413, "payload too large")
        except BodyTimeout:
            self.rejections.reject("body_timeout")
            return _error(408, "the body did not arrive in time")
        if not self._signature_holds(request, body):
            self.rejections.reject("bad_signature")
            return _error(401, "invalid signature")
        event = request.headers.get(EVENT_HEADER)
        if not event:
            self.rejections.reject("malformed", f"missing {EVENT_HEADER}")
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
                limits=self.limits,
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            self.rejections.reject("malformed", f"{type(exc).__name__} in {event[:64]!r}")
            return _error(400, "malformed payload")
        return await self._act(decoded, event)

    def _signature_holds(self, request: web.Request, body: bytes) -> bool:
        if not self.signing_tokens:
            return True  # nothing to check against: the token alone authenticates
        verdict = protocol.check_signature(
            body, request.headers, self.signing_tokens, self.clock.now()
        )
        if verdict is protocol.Signature.ABSENT:
            return not self.require_signature
        return verdict is protocol.Signature.VALID

    async def _act(self, decoded: Any, event: str) -> web.Response:
        if isinstance(decoded, Invalid):
            self.rejections.reject("invalid_field", decoded.reason)
            return web.json_response({"ignored": decoded.reason})
        if isinstance(decoded, Ignored):
            self.log.debug("ignored %s: %s", event, decoded.reason)
            return web.json_response({"ignored": decoded.reason})
        if isinstance(decoded, CiUpdate):
            return await self._observe(decoded, event)
        assert isinstance(decoded, Commands)
        taken = await submit_comment(self.intake, decoded.invocations, decoded.notices)
        return web.json_response(taken.as_json())

    async def _observe(self, update: CiUpdate, event: str) -> web.Response:
        sink = self.ci_events
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


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
