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
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize_args import AsyncAuthorizeArgs
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.clock import Clock
from bot.messages import Invocation
from connectors.slack import protocol
from connectors.slack.render import escape
from connectors.slack.threads import ThreadSubjects

Submit = Callable[[Invocation], Awaitable[bool]]

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
    ) -> None:
        self._submit = submit
        self._subjects = subjects
        self._clock = clock
        self._log = log

    async def command(self, ack: AsyncAck, body: Mapping[str, Any]) -> None:
        try:
            invocation = protocol.command_invocation(
                body, invocation_id=uuid.uuid4().hex, received_at=self._clock.now()
            )
        except protocol.PayloadError as exc:
            self._log.warning("slash command ignored: %s", exc)
            await ack(
                text=f"Sorry, that command could not be read: {exc}.", response_type="ephemeral"
            )
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
        for invocation in invocations:
            await self._submit(invocation)
        await ack()

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
