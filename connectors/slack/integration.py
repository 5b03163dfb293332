"""``SlackIntegration``: how the Slack connector plugs into the application.

``start(host)`` (the platform contract, ``bot.platforms``) builds the Web API client on
the host's HTTP session, and provides:

- the sender (the Slack ``Connector``, posting through the rate gate in the store that
  every replica shares: ``[slack] post_interval`` apart per method and channel);
- the user-group authorizer;
- in HTTP mode, ``POST /slack/events`` (events, slash commands, interactivity), which
  hands the request to Bolt and Bolt's answer back;
- in Socket Mode, the connection, opened once the host's intake is open (the pipeline
  exists) and closed on exit, and a readiness check (``/readyz`` names ``slack`` while
  the socket is not connected).

Socket Mode resilience is slack_sdk's ``SocketModeClient``: it reconnects when Slack sends
``disconnect`` (``refresh_requested``, ``warning``) or the socket closes or goes stale, and
retries a failed connection every ``socket_ping_interval`` seconds. Slack re-delivers the
envelopes that were not acked; their delivery keys keep each to one answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.platforms import SlackSettings
from bot.messages import Platform
from bot.parts import Route
from bot.pipeline.rate_gate import RateGate
from bot.platforms import PlatformHost, PlatformParts
from bot.store.gates import GateStore
from bot.store.state import StateStore
from connectors.front_door import front_door
from connectors.rejections import Rejections
from connectors.slack.client import SlackConnector
from connectors.slack.groups import SlackGroupAuthorizer
from connectors.slack.inbound import SlackInbound, SlackRequests, build_bolt_app
from connectors.slack.threads import ThreadSubjects

EVENTS_PATH = "/slack/events"
# a post whose slot is further away than this goes back to the outbox instead of waiting
GATE_MAX_WAIT = 5.0


class SlackIntegration:
    def __init__(self, settings: SlackSettings) -> None:
        self._settings = settings

    @property
    def platform(self) -> Platform:
        return Platform.SLACK

    @asynccontextmanager
    async def start(self, host: PlatformHost) -> AsyncIterator[PlatformParts]:
        settings, clock, log = self._settings, host.clock, host.log
        assert settings.bot_token is not None  # checked by SlackSettings when enabled
        timeout = math.ceil(settings.request_timeout)
        web_client = AsyncWebClient(
            token=settings.bot_token.reveal(),
            base_url=settings.api_url,
            session=host.http,
            timeout=timeout,
            logger=log,
        )
        subjects = ThreadSubjects(StateStore())
        connector = SlackConnector(
            web_client,
            session=host.http,
            clock=clock,
            gate=RateGate(
                GateStore(host.database),
                clock,
                spacing=settings.post_interval,
                max_wait=GATE_MAX_WAIT,
            ),
            subjects=subjects,
            timeout=timeout,
            log=log,
        )
        authorizer = SlackGroupAuthorizer(
            web_client,
            host.config.permissions,
            clock=clock,
            cache_seconds=settings.group_cache_seconds,
        )
        limits = front_door(host)
        inbound = SlackInbound(
            submit=host.intake.submit,
            subjects=subjects,
            clock=clock,
            log=log,
            notify=host.intake.notify,
            limits=limits["limits"],
        )
        if settings.socket_mode:
            bolt = self._bolt(inbound, signing_secret=None, log=log)
            async with self._socket(bolt, host) as socket:
                yield PlatformParts(
                    connector=connector,
                    authorizer=authorizer,
                    readiness=lambda: socket_problem(socket),
                )
            return
        assert settings.signing_secret is not None  # checked by SlackSettings in HTTP mode
        signing_secret = settings.signing_secret.reveal()
        bolt = self._bolt(inbound, signing_secret=signing_secret, log=log)
        requests = SlackRequests(
            bolt=lambda: bolt,
            signing_secret=signing_secret,
            clock=clock,
            log=log,
            rejections=Rejections(
                door="slack", counter=limits["rejected"], monotonic=clock.monotonic, log=log
            ),
            body_timeout=limits["body_timeout"],
            unverified=limits["unverified"],
        )
        yield PlatformParts(
            connector=connector,
            authorizer=authorizer,
            routes=(Route("POST", EVENTS_PATH, requests.handle),),
        )

    def _bolt(
        self, inbound: SlackInbound, *, signing_secret: str | None, log: logging.Logger
    ) -> AsyncApp:
        settings = self._settings
        assert settings.bot_token is not None
        return build_bolt_app(
            inbound,
            command=settings.command,
            bot_token=settings.bot_token.reveal(),
            signing_secret=signing_secret,
            log=bolt_logger(log),
        )

    @asynccontextmanager
    async def _socket(self, bolt: AsyncApp, host: PlatformHost) -> AsyncIterator[SlackSocket]:
        """Socket Mode: the connection opens once the intake is open (``connect`` retries
        until Slack answers; start-up does not wait for it) and closes on exit."""
        settings = self._settings
        assert settings.app_token is not None  # checked by SlackSettings in socket mode
        socket = SlackSocket(
            AsyncSocketModeHandler(
                bolt,
                app_token=settings.app_token.reveal(),
                logger=host.log.getChild("socket"),
                web_client=AsyncWebClient(
                    base_url=settings.api_url,
                    session=host.http,
                    timeout=math.ceil(settings.request_timeout),
                ),
                ping_interval=settings.socket_ping_interval,
            )
        )

        async def connect() -> None:
            await host.intake.opened()
            socket.started = True
            await socket.handler.connect_async()  # type: ignore[no-untyped-call]

        connecting = asyncio.create_task(connect(), name="slack-socket")
        try:
            yield socket
        finally:
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await connecting
            if socket.started:
                await socket.handler.close_async()  # type: ignore[no-untyped-call]


@dataclass
class SlackSocket:
    """The Socket Mode connection of one application."""

    handler: AsyncSocketModeHandler
    started: bool = False  # whether connecting has begun (the intake was open)


async def socket_problem(socket: SlackSocket) -> str | None:
    """Readiness in Socket Mode: None while the WebSocket to Slack is connected."""
    if not socket.started:
        return "socket mode not started"
    connected = await socket.handler.client.is_connected()
    return None if connected else "socket mode not connected"


class _EnvironmentTokenNotice(logging.Filter):
    """Drops Bolt's "`token` (or SLACK_BOT_TOKEN env variable) will be ignored" warning.

    Why Bolt says it: ``AsyncApp`` reads ``SLACK_BOT_TOKEN`` from the process environment
    by itself, and the configuration conventionally names that very variable
    (``bot_token = "env:SLACK_BOT_TOKEN"``); we hand Bolt an ``authorize`` that returns the
    configured bot token (no ``auth.test`` per process), so Bolt drops the token it found
    and warns, on every start. Ignoring it is what we want: the configured token is the
    one used. Passing Bolt a client instead only trades this warning for another, so this
    one message, and nothing else Bolt logs, is filtered.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_token_skipped()


def bolt_logger(log: logging.Logger) -> logging.Logger:
    """The logger Bolt gets: ``<log>.bolt``, without the notice above (filtered once)."""
    logger = log.getChild("bolt")
    if not any(isinstance(f, _EnvironmentTokenNotice) for f in logger.filters):
        logger.addFilter(_EnvironmentTokenNotice())
    return logger
