"""``SlackIntegration``: how the Slack connector plugs into the application.

``install`` adds, without doing any I/O:

- in HTTP mode, ``POST /slack/events`` (events, slash commands, interactivity), which
  hands the request to Bolt and Bolt's answer back;
- a ``cleanup_ctx`` that builds the Web API client on the application's HTTP session, the
  sender (registered as the Slack ``Connector``, posting through the rate gate in the store
  that every replica shares: ``[slack] post_interval`` apart per method and channel), the
  user-group authorizer, and the Bolt app;
- in Socket Mode, an ``on_startup`` hook that opens the connection once the pipeline exists
  (``on_startup`` hooks run after every ``cleanup_ctx`` has started) and an ``on_shutdown``
  hook that closes it before the workers and the database stop, and a readiness check
  (``/readyz`` names ``slack`` while the socket is not connected).

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
from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.platforms import SlackSettings
from bot.messages import Invocation, Outgoing, Platform
from bot.pipeline.rate_gate import RateGate
from bot.store.gates import GateStore
from bot.store.state import StateStore
from bot.web import CLOCK, CONFIG, DATABASE, HTTP, LOG, PIPELINE, REGISTRY
from connectors.front_door import front_door
from connectors.rejections import Rejections
from connectors.slack.client import SlackConnector
from connectors.slack.groups import SlackGroupAuthorizer
from connectors.slack.inbound import SlackInbound, SlackRequests, build_bolt_app
from connectors.slack.threads import ThreadSubjects

EVENTS_PATH = "/slack/events"
# a post whose slot is further away than this goes back to the outbox instead of waiting
GATE_MAX_WAIT = 5.0


@dataclass
class SlackRuntime:
    """What the integration started; kept on the application under ``SLACK``."""

    bolt: AsyncApp
    requests: SlackRequests | None = None  # HTTP mode: what stands in front of Bolt
    socket: AsyncSocketModeHandler | None = None
    connecting: asyncio.Task[None] | None = field(default=None, repr=False)


SLACK = web.AppKey("slack", SlackRuntime)


class SlackIntegration:
    def __init__(self, settings: SlackSettings) -> None:
        self._settings = settings

    @property
    def name(self) -> str:
        return "slack"

    def install(self, app: web.Application) -> None:
        app.cleanup_ctx.append(self._context)
        if self._settings.socket_mode:
            app.on_startup.append(self._open_socket)
            app.on_shutdown.append(self._close_socket)
        else:
            app.router.add_post(EVENTS_PATH, events)

    async def _context(self, app: web.Application) -> AsyncIterator[None]:
        settings = self._settings
        assert settings.bot_token is not None  # checked by SlackSettings when enabled
        log = app[LOG].getChild("slack")
        timeout = math.ceil(settings.request_timeout)
        web_client = AsyncWebClient(
            token=settings.bot_token.reveal(),
            base_url=settings.api_url,
            session=app[HTTP],
            timeout=timeout,
            logger=log,
        )
        clock = app[CLOCK]
        subjects = ThreadSubjects(StateStore())
        registry = app[REGISTRY]
        registry.add_connector(
            SlackConnector(
                web_client,
                session=app[HTTP],
                clock=clock,
                gate=RateGate(
                    GateStore(app[DATABASE]),
                    clock,
                    spacing=settings.post_interval,
                    max_wait=GATE_MAX_WAIT,
                ),
                subjects=subjects,
                timeout=timeout,
                log=log,
            )
        )
        registry.add_authorizer(
            Platform.SLACK,
            SlackGroupAuthorizer(
                web_client,
                app[CONFIG].permissions,
                clock=clock,
                cache_seconds=settings.group_cache_seconds,
            ),
        )

        async def submit(invocation: Invocation) -> bool:
            return await app[PIPELINE].submit(invocation)

        async def notify(notice: Outgoing) -> bool:
            pipeline = app[PIPELINE]
            queued = await pipeline.outbox.enqueue(notice, clock.now())
            if queued:
                pipeline.outbox_wake.set()
            return queued

        limits = front_door(app)
        inbound = SlackInbound(
            submit=submit,
            subjects=subjects,
            clock=clock,
            log=log,
            notify=notify,
            limits=limits["limits"],
        )
        signing = None if settings.socket_mode else settings.signing_secret
        bolt = build_bolt_app(
            inbound,
            command=settings.command,
            bot_token=settings.bot_token.reveal(),
            signing_secret=signing.reveal() if signing is not None else None,
            log=bolt_logger(log),
        )
        requests = None
        if signing is not None:
            requests = SlackRequests(
                bolt=lambda: bolt,
                signing_secret=signing.reveal(),
                clock=clock,
                log=log,
                rejections=Rejections(
                    door="slack",
                    counter=limits["rejected"],
                    monotonic=clock.monotonic,
                    log=log,
                ),
                body_timeout=limits["body_timeout"],
                unverified=limits["unverified"],
            )
        app[SLACK] = SlackRuntime(bolt=bolt, requests=requests)
        if settings.socket_mode:
            registry.add_readiness_check("slack", lambda: socket_problem(app[SLACK]))
        yield

    async def _open_socket(self, app: web.Application) -> None:
        settings = self._settings
        assert settings.app_token is not None  # checked by SlackSettings in socket mode
        runtime = app[SLACK]
        runtime.socket = AsyncSocketModeHandler(
            runtime.bolt,
            app_token=settings.app_token.reveal(),
            logger=app[LOG].getChild("slack.socket"),
            web_client=AsyncWebClient(
                base_url=settings.api_url,
                session=app[HTTP],
                timeout=math.ceil(settings.request_timeout),
            ),
            ping_interval=settings.socket_ping_interval,
        )
        # connect() retries until Slack answers; start-up does not wait for it
        runtime.connecting = asyncio.create_task(
            runtime.socket.connect_async()  # type: ignore[no-untyped-call]
        )

    async def _close_socket(self, app: web.Application) -> None:
        runtime = app[SLACK]
        if runtime.connecting is not None and not runtime.connecting.done():
            runtime.connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runtime.connecting
        if runtime.socket is not None:
            await runtime.socket.close_async()  # type: ignore[no-untyped-call]


async def socket_problem(runtime: SlackRuntime) -> str | None:
    """Readiness in Socket Mode: None while the WebSocket to Slack is connected."""
    if runtime.socket is None:
        return "socket mode not started"
    connected = await runtime.socket.client.is_connected()
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


async def events(request: web.Request) -> web.Response:
    """``POST /slack/events``: we verify, Bolt verifies again, our listeners persist, Bolt
    acks (see ``SlackRequests``)."""
    requests = request.app[SLACK].requests
    assert requests is not None  # the route exists in HTTP mode only
    return await requests.handle(request)
