"""The GitHub integration: the webhook route, the API session, and what they provide.

``GitHubIntegration(settings, bot).start(host)`` (the platform contract,
``bot.platforms``), at start-up:

1. refuses to start without any webhook secret (configured, or stored by ``setup-repo``);
2. opens one HTTP session for GitHub with the configured request timeout;
3. picks the credentials: App installation tokens, or the fixed token;
4. provides the ``GitHubConnector`` (replies), the ``GitHubAuthorizer`` (levels from
   repository permissions), the ``GitHubForge`` (what CI commands act through), in
   App mode the redelivery job (also run at start-up), and ``POST /webhooks/github``,
   whose receiver stores commands through the host's intake and hands CI updates to the
   host's CI-event sink, when a feature follows CI.

Steps 2 and 3 are ``open_github``, which ``chatops shell`` uses too. The server's client
sends through the rate gate in the store (``bot.pipeline.rate_gate``), shared with every replica:
mutating requests of one installation ``write_interval`` apart (GitHub asks for a second),
and nothing while GitHub says to wait. Permission lookups wait out a rate limit within
half of the command's time budget (``workers.handler_timeout``).

On exit it closes its session. Nothing happens at import or on construction.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from bot.clock import Clock
from bot.config import BotSettings
from bot.config.platforms import GitHubSettings
from bot.messages import Platform
from bot.parts import Route, ScheduledJob
from bot.pipeline.rate_gate import RateGate
from bot.platforms import PlatformHost, PlatformParts, StartupError
from bot.store.gates import GateStore
from bot.store.leases import Leases
from bot.store.state import StateStore
from connectors.front_door import front_door
from connectors.github.api import GitHubClient
from connectors.github.auth import AppTokens, StaticToken, TokenSource
from connectors.github.client import GitHubConnector
from connectors.github.forge import GitHubForge
from connectors.github.hooks import HookSecrets
from connectors.github.inbound import WebhookReceiver
from connectors.github.installations import AppInstallations, Installations, NoInstallations
from connectors.github.permissions import GitHubAuthorizer
from connectors.github.protocol import Identity
from connectors.github.recovery import Redeliverer

ROUTE = "/webhooks/github"
NO_SECRET = (
    "GitHub is enabled but has no webhook secret: set github.webhook_secrets, "
    "or run `chatops github setup-repo OWNER/REPO`"
)
# GitHub's guidance: at least one second between mutating requests of one installation
WRITE_INTERVAL = 1.0
# the longest a send waits for its slot before it is put back in the outbox instead
GATE_MAX_WAIT = 5.0


def requester(bot: BotSettings) -> str:
    """The User-Agent GitHub asks integrations to send: who is calling."""
    return f"{bot.name} (chatops-bridge)"


class GitHubIntegration:
    def __init__(
        self, settings: GitHubSettings, bot: BotSettings, *, write_interval: float = WRITE_INTERVAL
    ) -> None:
        self._settings = settings
        self._bot = bot
        self._write_interval = write_interval

    @property
    def platform(self) -> Platform:
        return Platform.GITHUB

    @asynccontextmanager
    async def start(self, host: PlatformHost) -> AsyncIterator[PlatformParts]:
        settings, clock, log = self._settings, host.clock, host.log
        secrets = [secret.reveal() for secret in settings.webhook_secrets]
        hook_secrets = HookSecrets()
        if not secrets and await hook_secrets.count() == 0:
            raise StartupError(NO_SECRET)
        gate = RateGate(
            GateStore(host.database), clock, spacing=self._write_interval, max_wait=GATE_MAX_WAIT
        )
        async with open_github(settings, self._bot, clock, gate=gate) as github:
            own_logins = {settings.bot_login.lower()}
            if github.app_tokens is not None:
                own_logins |= await _app_bot_login(github.app_tokens, log)
            client = github.client
            receiver = WebhookReceiver(
                secrets=secrets,
                hook_secrets=hook_secrets,
                identity=Identity(
                    mentions=(f"@{self._bot.name}", f"@{settings.bot_login}"),
                    logins=frozenset(own_logins),
                ),
                installations=github.installations,
                intake=host.intake,
                ci_events=host.ci_events,
                max_body_bytes=settings.max_body_bytes,
                clock=clock,
                log=log,
                **front_door(host),
            )
            yield PlatformParts(
                connector=GitHubConnector(client, clock, frozenset(own_logins)),
                authorizer=GitHubAuthorizer(
                    client,
                    clock,
                    timedelta(seconds=settings.permission_cache_seconds),
                    budget=host.config.workers.handler_timeout / 2,
                ),
                forge=GitHubForge(client, clock),
                jobs=self._redelivery(github, clock, log),
                routes=(Route("POST", ROUTE, receiver.handle),),
            )

    def _redelivery(
        self, github: GitHubAccess, clock: Clock, log: logging.Logger
    ) -> tuple[ScheduledJob, ...]:
        """In App mode, the job that asks GitHub to redeliver what failed (also at start)."""
        if github.app_tokens is None or not self._settings.redeliver_failed:
            return ()
        redeliverer = Redeliverer(
            tokens=github.app_tokens,
            state=StateStore(),
            leases=Leases(),
            clock=clock,
            holder=f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}",
            log=log,
        )
        job = ScheduledJob(
            name="github-redelivery",
            cron=self._settings.redelivery_cron,
            run=_logged(redeliverer.run, log),
            run_at_start=True,
        )
        return (job,)


@dataclass(frozen=True, slots=True)
class GitHubAccess:
    """An open API session for GitHub and the credentials it uses."""

    client: GitHubClient
    app_tokens: AppTokens | None  # App mode only
    installations: AppInstallations | None  # App mode only


@asynccontextmanager
async def open_github(
    settings: GitHubSettings, bot: BotSettings, clock: Clock, *, gate: RateGate | None = None
) -> AsyncIterator[GitHubAccess]:
    """One HTTP session for GitHub (the configured timeout), with App installation tokens
    or the fixed token; closed on exit. The server and ``chatops shell`` both use it; the
    server passes its rate ``gate``."""
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tokens: TokenSource
        installations: Installations
        app_tokens: AppTokens | None = None
        app_installations: AppInstallations | None = None
        if settings.app_id is not None and settings.private_key is not None:
            app_tokens = AppTokens(
                session,
                base_url=settings.api_url,
                app_id=settings.app_id,
                private_key=settings.private_key.reveal(),
                requester=requester(bot),
                clock=clock,
            )
            tokens = app_tokens
            app_installations = AppInstallations(app_tokens, clock)
            installations = app_installations
        else:
            assert settings.token is not None  # the settings check guarantees one or other
            tokens = StaticToken(settings.token.reveal())
            installations = NoInstallations()
        client = GitHubClient(
            session,
            base_url=settings.api_url,
            tokens=tokens,
            installations=installations,
            requester=requester(bot),
            gate=gate,
        )
        yield GitHubAccess(client, app_tokens, app_installations)


async def _app_bot_login(tokens: AppTokens, log: logging.Logger) -> set[str]:
    """The App's own bot account, ``<slug>[bot]``; empty (with a warning) if unknown."""
    try:
        app = await tokens.app_api().getitem("/app")
    except Exception as exc:
        log.warning("could not read the GitHub App's slug: %s", type(exc).__name__)
        return set()
    return {f"{app['slug']}[bot]".lower()}


def _logged(
    run: Callable[[], Awaitable[object]], log: logging.Logger
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        try:
            await run()
        except Exception:
            log.exception("GitHub redelivery failed; it runs again on schedule")

    return job
