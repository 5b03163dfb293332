"""Slack's front door: a slack-bolt ``AsyncApp`` whose listeners feed the inbox, then ack.

The same Bolt app serves both transports: the aiohttp route ``/slack/events`` (Bolt checks
the v0 signature and the 5-minute window, answering 401 otherwise, and answers
``url_verification``) and Socket Mode (the adapter acks each envelope with what the
listener acked). Bolt runs in ``process_before_response`` mode, so a listener's work is
done before the answer leaves: persist, then ack, always within Slack's 3 seconds, since
persisting is one local insert.

Listeners:

- the slash command (``[slack] command``): submit, then ack with an ephemeral "working on
  it" that only the asker sees; a command the inbox cannot take is acked with an ephemeral
  "try again" (Slack does not retry slash commands);
- ``app_mention`` and ``message`` (direct messages): submit each command, then ack. If the
  inbox fails, the listener raises: Bolt answers 500 over HTTP and sends no ack over Socket
  Mode, so Slack delivers the event again, and the delivery key keeps it to one answer;
- ``block_actions`` and every other event: acked and ignored; the bot posts nothing
  interactive yet.

No Slack API call happens before the ack: ``authorize`` hands Bolt the configured bot token
without calling ``auth.test``, and the bot's own user id is read from each event.

Over HTTP, ``SlackRequests`` stands in front of Bolt, because Bolt parses a body before it
checks the signature (malformed JSON, a timestamp such as ``17e8`` or JSON nested 50,000
deep would be a 500 there). It refuses, with 401 and before reading the body, a request
whose signature or timestamp header is missing, duplicated, malformed or outside the
5-minute window; it reads the body capped and timed, hashing it as it streams
(``connectors.webhook_body``), and compares; it answers 400 for a body that is not UTF-8,
JSON, or a form whose ``payload`` is JSON; it answers Slack's ``app_rate_limited`` notice
with 200 and a log line; only then does Bolt see the request.

Budget: a message's command lines are cut to ``limits`` (``connectors.budget``); an
over-long line and the lines beyond the budget are answered by notices in the thread. An
empty slash command, or one over the length limit, is answered privately in the ack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize_args import AsyncAuthorizeArgs
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.clock import Clock
from bot.messages import Invocation, Outgoing
from bot.pipeline.keys import notice_key
from bot.storable import storable_invocation, storable_reply, storable_target
from connectors import budget
from connectors.rejections import Rejections
from connectors.slack import protocol
from connectors.slack.render import escape
from connectors.slack.threads import ThreadSubjects
from connectors.webhook_body import (
    BodyLimits,
    BodyTimeout,
    BodyTooLarge,
    Busy,
    UnverifiedBodies,
    read_body,
)

Submit = Callable[[Invocation], Awaitable[bool]]
Notify = Callable[[Outgoing], Awaitable[bool]]

USAGE = (
    "Usage: `{command} <command> [arguments]`. Try `{command} help` to see what you can run here."
)
SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
MAX_AGE = 300.0  # Slack: refuse requests more than five minutes old
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

NOT_ACCEPTED = (
    "Sorry, the bot could not take that command just now; nothing was run. Please try again."
)


class SlackInbound:
    """Turns verified Slack payloads into inbox rows; owns no Slack connection itself."""

    def __init__(
        self,
        *,
        submit: Submit,
        subjects: ThreadSubjects,
        clock: Clock,
        log: logging.Logger,
        notify: Notify | None = None,
        limits: budget.Limits | None = None,
    ) -> None:
        self._submit = submit
        self._subjects = subjects
        self._clock = clock
        self._log = log
        self._notify = notify
        self._limits = limits or budget.Limits()

    async def command(self, ack: AsyncAck, body: Mapping[str, Any]) -> None:
        try:
            invocation = storable_invocation(
                protocol.command_invocation(
                    body, invocation_id=uuid.uuid4().hex, received_at=self._clock.now()
                )
            )
        except protocol.PayloadError as exc:
            self._log.warning("slash command ignored: %s", exc)
            await ack(
                text=f"Sorry, that command could not be read: {exc}.", response_type="ephemeral"
            )
            return
        command = escape(str(body.get("command") or "/chatops"))
        if not invocation.text:
            await ack(text=USAGE.format(command=command), response_type="ephemeral")
            return
        if len(invocation.text) > self._limits.max_chars:
            reply = budget.too_long_reply(invocation.text, self._limits)
            await ack(text=escape(" ".join(reply.paragraphs[:1])), response_type="ephemeral")
            return
        try:
            await self._submit(invocation)
        except Exception:
            self._log.exception(
                "slash command not accepted", extra={"key": invocation.delivery_key}
            )
            await ack(text=NOT_ACCEPTED, response_type="ephemeral")
            return
        shown = escape(f"{body.get('command')} {invocation.text}".rstrip())
        await ack(text=f":hourglass_flowing_sand: Working on `{shown}`…", response_type="ephemeral")

    async def event(self, ack: AsyncAck, body: Mapping[str, Any]) -> None:
        where = protocol.thread_of(body)
        subject = await self._subjects.recall(*where) if where is not None else None
        try:
            invocations = protocol.event_invocations(
                body,
                new_id=lambda: uuid.uuid4().hex,
                received_at=self._clock.now(),
                subject=subject,
            )
        except protocol.PayloadError as exc:
            self._log.warning("event ignored: %s", exc)
            invocations = []
        plan = budget.plan([i.text for i in invocations], self._limits)
        for index, _ in plan.run:
            await self._submit(storable_invocation(invocations[index]))
        notices = [
            (f"{invocations[i].delivery_key}:long", budget.too_long_reply(line, self._limits))
            for i, line in plan.too_long
        ]
        if plan.dropped:
            notices.append(
                (
                    f"{invocations[0].delivery_key}:rest",
                    budget.over_budget_reply(plan, self._limits),
                )
            )
        for key, reply in notices:
            await self._send_notice(invocations[0], key, reply)
        await ack()

    async def _send_notice(self, first: Invocation, key: str, reply: Any) -> None:
        if self._notify is None:
            self._log.warning("a notice was not sent: %s", reply.title)
            return
        target = storable_target(first.reply_to)
        await self._notify(
            Outgoing(target=target, reply=storable_reply(reply), key=notice_key(key))
        )

    async def ignore(self, ack: AsyncAck) -> None:
        await ack()


def build_bolt_app(
    inbound: SlackInbound,
    *,
    command: str,
    bot_token: str,
    signing_secret: str | None,
    log: logging.Logger,
) -> AsyncApp:
    """The Bolt app; ``signing_secret`` None means Socket Mode (payloads are not signed)."""

    async def authorize(args: AsyncAuthorizeArgs) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=args.enterprise_id, team_id=args.team_id, bot_token=bot_token
        )

    app = AsyncApp(
        name="chatops",
        logger=log,
        process_before_response=True,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        authorize=authorize,
        ignoring_self_events_enabled=False,  # protocol drops every bot's messages itself
    )
    app.command(command)(inbound.command)
    app.event("app_mention")(inbound.event)
    app.event("message")(inbound.event)
    app.event(re.compile(".*"))(inbound.ignore)
    app.action(re.compile(".*"))(inbound.ignore)
    return app


@dataclass
class SlackRequests:
    """``POST /slack/events``: refuse what cannot be authentic or well formed, then Bolt."""

    bolt: Callable[[], AsyncApp]
    signing_secret: str
    clock: Clock
    log: logging.Logger
    rejections: Rejections
    max_body_bytes: int = 1024**2
    body_timeout: float = 10.0
    unverified: UnverifiedBodies = field(default_factory=lambda: UnverifiedBodies(4, 1.0))

    async def handle(self, request: web.Request) -> web.Response:
        signature = request.headers.getall(SIGNATURE_HEADER, [])
        timestamp = request.headers.getall(TIMESTAMP_HEADER, [])
        refusal = self._header_problem(signature, timestamp)
        if refusal is not None:
            self.rejections.reject(refusal)
            return _error(401, "invalid request signature")
        mac = hmac.new(self.signing_secret.encode(), f"v0:{timestamp[0]}:".encode(), hashlib.sha256)
        limits = BodyLimits(max_bytes=self.max_body_bytes, read_timeout=self.body_timeout)
        try:
            async with self.unverified.slot():
                raw = await read_body(request, limits, [mac])
        except BodyTooLarge:
            self.rejections.reject("too_large")
            return _error(413, "payload too large")
        except BodyTimeout:
            self.rejections.reject("body_timeout")
            return _error(408, "the body did not arrive in time")
        except Busy:
            self.rejections.reject("busy")
            return _error(503, "busy; try again")
        if not hmac.compare_digest(signature[0].encode(), f"v0={mac.hexdigest()}".encode()):
            self.rejections.reject("bad_signature")
            return _error(401, "invalid request signature")
        try:
            body = raw.decode("utf-8")
            payload = _payload(body, request.content_type)
        except (ValueError, RecursionError) as exc:
            self.rejections.reject("malformed", type(exc).__name__)
            return _error(400, "malformed payload")
        if payload.get("type") == "app_rate_limited":
            self.log.warning(
                "Slack is dropping events: app_rate_limited for team %s in minute %s",
                str(payload.get("team_id"))[:32],
                str(payload.get("minute_rate_limited"))[:16],
            )
            return web.json_response({"ok": True})
        try:
            # Bolt reads ids out of the payload as it builds its context and trusts their
            # shapes ("user": false raises TypeError): a signed but odd body is a 400
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            self.rejections.reject("malformed", type(exc).__name__)
            return _error(400, "malformed payload")
        return await to_aiohttp_response(await self.bolt().async_dispatch(bolt_request))

    def _header_problem(self, signature: list[str], timestamp: list[str]) -> str | None:
        if not signature or not timestamp:
            return "no_signature"
        if len(signature) > 1 or len(timestamp) > 1:
            return "duplicate_signature"
        if not _SIGNATURE.fullmatch(signature[0]) or not _TIMESTAMP.fullmatch(timestamp[0]):
            return "malformed_signature"
        if abs(self.clock.now().timestamp() - int(timestamp[0])) > MAX_AGE:
            return "stale_timestamp"
        return None


def _payload(body: str, content_type: str) -> Mapping[str, Any]:
    """The JSON object a request carries (an event, or a form's ``payload``); {} for a form
    without one (a slash command). ``ValueError`` when it is not well formed."""
    if content_type == "application/json":
        parsed = json.loads(body)
    else:
        form = parse_qs(body, keep_blank_values=True, strict_parsing=False)
        payloads = form.get("payload")
        if not payloads:
            return {}
        parsed = json.loads(payloads[0])
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    return parsed


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
