"""``SlackConnector``: the sending half, on slack_sdk's ``AsyncWebClient``.

Where a reply goes, from its ``ReplyTarget`` (built by ``protocol``):

- ephemeral (visible to one user) when the ``Reply`` says so, when the target names an
  ``ephemeral_user``, or when it is an error answering a slash command (the command's own
  reply, not a later notification sent to the same place): the channel need not see
  someone's typo. ``chat.postEphemeral`` to that user, in the thread if any;
- otherwise ``chat.postMessage`` to the channel, in ``thread`` when set;
- when the bot cannot post there (``not_in_channel``, ``channel_not_found``: a private
  channel or a DM the bot is not in) and the command's ``response_url`` is still valid,
  through the ``response_url`` instead (``in_channel`` or ``ephemeral``).

Every post goes through the shared rate gate (``bot.pipeline.rate_gate``, kept in the store, so
every replica honours it), one key per token, method and channel:
``slack:<token digest>:<method>:<channel>`` (``response_url`` counts as a method). Each
post takes the key's next slot, the gate's ``spacing`` (``[slack] post_interval``, 1 s:
Slack allows about one message per second per channel) after the one before, whichever
replica sent it. A 429 or ``ratelimited`` closes that key for Slack's ``Retry-After``, so
no replica posts there until the window ends.

Failures reach the outbox only as ``bot.pipeline.delivery`` errors: a rate limit (a 429, or the
gate closed or queued beyond its ``max_wait``) is ``RateLimited``, which the sender puts
back without counting the attempt; permanent ``ok: false`` errors are ``Undeliverable``,
network errors and the rest ``DeliveryError``.

A top-level message whose target carries a ``subject`` is remembered (``threads``), so a
mention in the thread under it knows its target. ``ACKNOWLEDGEMENT`` rows do nothing:
slash commands are acknowledged in the HTTP/Socket Mode ack itself.

Delivery is at least once: a request that times out after Slack took it is retried and
may show twice; a request Slack answered is never repeated.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.clock import Clock
from bot.messages import Outgoing, OutgoingKind, Platform, ReplyTarget, Status
from bot.pipeline.delivery import DeliveryError, RateLimited, Undeliverable
from bot.pipeline.rate_gate import RateGate
from connectors.slack import protocol
from connectors.slack.render import SlackMessage, render_reply
from connectors.slack.threads import ThreadSubjects


class SlackConnector:
    def __init__(
        self,
        web: AsyncWebClient,
        *,
        session: aiohttp.ClientSession,
        clock: Clock,
        gate: RateGate,
        subjects: ThreadSubjects,
        timeout: int,
        log: logging.Logger,
    ) -> None:
        self._web = web
        self._session = session
        self._clock = clock
        self._gate = gate
        self._gate_scope = gate_scope(web.token or "")
        self._subjects = subjects
        self._timeout = timeout
        self._log = log

    @property
    def platform(self) -> Platform:
        return Platform.SLACK

    async def send(self, message: Outgoing) -> None:
        if message.kind is OutgoingKind.ACKNOWLEDGEMENT:
            return
        target = message.target
        rendered = render_reply(message.reply, context=target.hint(protocol.HINT_CONTEXT))
        private_to = _private_to(message)
        try:
            if private_to is not None:
                await self._post_ephemeral(target, private_to, rendered)
                return
            ts = await self._post(target, rendered)
        except Undeliverable as exc:
            url = protocol.response_url_usable(target.extra, self._clock.now())
            if url is None or not _bot_cannot_post_there(exc):
                raise
            self._log.info("bot cannot post in %s; answering through response_url", target.channel)
            await self._respond(url, target.channel, rendered, ephemeral=private_to is not None)
            return
        subject = target.hint(protocol.HINT_SUBJECT)
        if subject is not None and target.thread is None and ts:
            await self._subjects.remember(target.channel, ts, subject, self._clock.now())

    async def _post(self, target: ReplyTarget, rendered: SlackMessage) -> str:
        arguments: dict[str, Any] = {"channel": target.channel, **rendered.payload()}
        if target.thread is not None:
            arguments["thread_ts"] = target.thread
        response = await self._call("chat.postMessage", arguments)
        return str(response.get("ts") or "")

    async def _post_ephemeral(self, target: ReplyTarget, user: str, rendered: SlackMessage) -> None:
        arguments: dict[str, Any] = {"channel": target.channel, "user": user, **rendered.payload()}
        if target.thread is not None:
            arguments["thread_ts"] = target.thread
        await self._call("chat.postEphemeral", arguments)

    def _key(self, method: str, channel: str) -> str:
        return f"{self._gate_scope}:{method}:{channel}"

    async def _call(self, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
        key = self._key(method, str(arguments["channel"]))
        await self._gate.write_slot(key)
        try:
            response = await self._web.api_call(method, json=arguments)
        except SlackApiError as exc:
            answer = exc.response
            error = answer.get("error") if isinstance(answer.data, dict) else None
            failure = protocol.delivery_error(
                method, answer.status_code, error, dict(answer.headers)
            )
            await self._close_if_limited(key, failure)
            raise failure from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{method}: {type(exc).__name__}") from exc
        data = response.data
        return data if isinstance(data, dict) else {}

    async def _respond(
        self, url: str, channel: str, rendered: SlackMessage, *, ephemeral: bool
    ) -> None:
        hook = AsyncWebhookClient(url, timeout=self._timeout, session=self._session)
        body = {"response_type": "ephemeral" if ephemeral else "in_channel", **rendered.payload()}
        key = self._key("response_url", channel)
        await self._gate.write_slot(key)
        try:
            answer = await hook.send_dict(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"response_url: {type(exc).__name__}") from exc
        if answer.status_code == 200:
            return
        if answer.status_code == 404:  # expired_url, used_url: Slack will not take it again
            raise Undeliverable(f"response_url: {answer.body or 'HTTP 404'}")
        failure = protocol.delivery_error(
            "response_url", answer.status_code, answer.body or None, dict(answer.headers)
        )
        await self._close_if_limited(key, failure)
        raise failure

    async def _close_if_limited(self, key: str, failure: DeliveryError) -> None:
        """A rate limit closes ``key`` for every replica, as long as Slack asked."""
        if isinstance(failure, RateLimited):
            await self._gate.blocked_for(key, failure.retry_after, failure.reason)


def gate_scope(token: str) -> str:
    """The gate keys' first part: Slack and a digest of the bot token (never the token)."""
    return f"slack:{hashlib.sha256(token.encode()).hexdigest()[:12]}"


def _private_to(message: Outgoing) -> str | None:
    """The user who alone should see the message, or None for everyone in the channel.

    An error is private only as the direct answer to a slash command (the outbox key of an
    invocation's reply); a later notification to the same place, such as a failed CI
    result, is for the channel.
    """
    reply, target = message.reply, message.target
    if target.ephemeral_user is not None:
        return target.ephemeral_user
    via_command = target.hint(protocol.HINT_VIA) == protocol.VIA_COMMAND
    answers = message.kind is OutgoingKind.REPLY
    if reply.ephemeral or (via_command and answers and reply.status is Status.ERROR):
        return target.hint(protocol.HINT_USER)
    return None


def _bot_cannot_post_there(error: Undeliverable) -> bool:
    return error.reason.partition(": ")[2] in protocol.NOT_REACHABLE_BY_BOT
