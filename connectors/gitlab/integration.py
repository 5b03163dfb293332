"""The GitLab integration: the webhook route, the API session, and what they provide.

``GitLabIntegration(settings, bot).start(host)`` (the platform contract,
``bot.platforms``), at start-up:

1. refuses to start without a webhook token, or with a signing token that is not
   ``whsec_<base64>``;
2. opens one HTTP session for GitLab with the configured request timeout and token
   (``open_gitlab``, which ``chatops shell`` uses too);
3. asks GitLab who the token's user is, so that user's notes are never read as commands
   (besides the configured ``bot_username``; a failure here is logged, not fatal);
4. provides the ``GitLabConnector`` (replies), the ``GitLabAuthorizer`` (levels from
   project access levels), the ``GitLabForge`` (what CI commands act through) and
   ``POST /webhooks/gitlab``, whose receiver stores commands through the host's intake
   and hands pipeline events to the host's CI-event sink, when a feature follows CI.

On exit it closes its session. Nothing happens at import or on construction.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp

from bot.config import BotSettings
from bot.config.platforms import GitLabSettings
from bot.messages import Platform
from bot.parts import Route
from bot.pipeline.rate_gate import RateGate
from bot.platforms import PlatformHost, PlatformParts, StartupError
from bot.store.gates import GateStore
from connectors.front_door import front_door
from connectors.gitlab.api import GitLabApi
from connectors.gitlab.ci_events import decode_ci
from connectors.gitlab.client import GitLabConnector
from connectors.gitlab.forge import GitLabForge
from connectors.gitlab.inbound import WebhookReceiver
from connectors.gitlab.permissions import GitLabAuthorizer
from connectors.gitlab.protocol import Identity, signing_key

ROUTE = "/webhooks/gitlab"
NO_TOKEN = (
    "GitLab is enabled but has no webhook token: set gitlab.webhook_tokens to the secret "
    "token of the project's webhook"
)


def requester(bot: BotSettings) -> str:
    """The User-Agent sent to GitLab: who is calling."""
    return f"{bot.name} (chatops-bridge)"


# at most one mutating request per token and host per this many seconds, across replicas
WRITE_INTERVAL = 1.0
# the longest a send waits for its slot before it is put back in the outbox instead
GATE_MAX_WAIT = 5.0


class GitLabIntegration:
    def __init__(
        self, settings: GitLabSettings, bot: BotSettings, *, write_interval: float = WRITE_INTERVAL
    ) -> None:
        self._settings = settings
        self._bot = bot
        self._write_interval = write_interval

    @property
    def platform(self) -> Platform:
        return Platform.GITLAB

    @asynccontextmanager
    async def start(self, host: PlatformHost) -> AsyncIterator[PlatformParts]:
        settings, clock = self._settings, host.clock
        webhook_tokens = [token.reveal() for token in settings.webhook_tokens]
        if not any(webhook_tokens):
            raise StartupError(NO_TOKEN)
        signing_tokens = _signing_tokens(settings)
        gate = RateGate(
            GateStore(host.database), clock, spacing=self._write_interval, max_wait=GATE_MAX_WAIT
        )
        async with open_gitlab(settings, self._bot, gate=gate) as api:
            own = {settings.bot_username.lower()} | await _token_user(api, host.log)
            receiver = WebhookReceiver(
                tokens=[token for token in webhook_tokens if token],
                signing_tokens=signing_tokens,
                require_signature=settings.require_signature,
                identity=Identity(
                    mentions=(f"@{self._bot.name}", f"@{settings.bot_username}"),
                    usernames=frozenset(own),
                ),
                intake=host.intake,
                ci_events=host.ci_events,
                decode_ci=decode_ci,
                max_body_bytes=settings.max_body_bytes,
                clock=clock,
                log=host.log,
                **front_door(host),
            )
            yield PlatformParts(
                connector=GitLabConnector(api, clock, frozenset(own)),
                authorizer=GitLabAuthorizer(
                    api,
                    clock,
                    timedelta(seconds=settings.permission_cache_seconds),
                    budget=host.config.workers.handler_timeout / 2,
                ),
                forge=GitLabForge(api, clock),
                routes=(Route("POST", ROUTE, receiver.handle),),
            )


@asynccontextmanager
async def open_gitlab(
    settings: GitLabSettings, bot: BotSettings, *, gate: RateGate | None = None
) -> AsyncIterator[GitLabApi]:
    """One HTTP session for GitLab (the configured timeout and token), closed on exit. The
    server (with its rate ``gate``) and ``chatops shell`` both use it."""
    assert settings.token is not None  # the settings check guarantees one when enabled
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield GitLabApi(
            session,
            base_url=settings.base_url,
            token=settings.token.reveal(),
            requester=requester(bot),
            gate=gate,
        )


def _signing_tokens(settings: GitLabSettings) -> list[str]:
    tokens = [token.reveal() for token in settings.signing_tokens]
    for index, token in enumerate(tokens):
        try:
            signing_key(token)
        except ValueError:
            raise StartupError(
                f"gitlab.signing_tokens[{index}]: expected whsec_ followed by base64"
            ) from None
    return tokens


async def _token_user(api: GitLabApi, log: logging.Logger) -> set[str]:
    """The username of the token's user (for a project or group token, its bot user)."""
    try:
        user = await api.getitem("/user")
    except Exception as exc:
        log.warning("could not read the GitLab token's user: %s", type(exc).__name__)
        return set()
    return {str(user["username"]).lower()}
