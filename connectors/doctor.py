"""The platforms' part of ``chatops doctor``: one check per enabled platform.

Each check makes the cheapest API call that proves the configured credential and says
whose it is, through the client library the bot itself uses (gidgethub, gidgetlab,
slack-sdk, discord.py), and compares the answer with the configuration where a mismatch
would break the bot (a ``bot_login`` that is not the token's user means the bot would read
its own comments as commands). A failure becomes a ``Finding`` that says what to fix; no
check raises.

The forges' checks go on where the API lets them read the webhook configuration
(``connectors.github.doctor``, ``connectors.gitlab.doctor``): a GitHub App's granted
permissions and events against what the command families need, and its webhook; in token
mode and on GitLab, the webhook of each repository to check. Those are the repositories
the configuration names for that forge (``[[ci.workflows]]``, ``[[secrets.tracked]]``,
``[[secrets.usage_tokens]]``) and the ones given with ``--repo`` (``repos_to_check``).

Which platforms post to ``bot.public_url`` (GitHub, GitLab, Slack in HTTP mode, Discord
with an interactions endpoint) is decided here too, for the public URL check.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
import gidgethub
from discord.http import Route
from gidgethub.aiohttp import GitHubAPI
from gidgetlab.exceptions import HTTPException as GitLabHTTPException
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.config import Config
from bot.config.platforms import DiscordSettings, GitHubSettings, GitLabSettings, SlackSettings
from bot.config.platforms.slack import HTTP
from bot.doctor import Finding, PlatformCheck, fail, ok
from bot.messages import Forge
from connectors.discord.client import DiscordHTTP
from connectors.github import doctor as github_doctor
from connectors.github.auth import AppTokens
from connectors.github.integration import ROUTE as GITHUB_ROUTE
from connectors.github.integration import requester as github_requester
from connectors.gitlab import doctor as gitlab_doctor
from connectors.gitlab.api import GitLabApi
from connectors.gitlab.integration import ROUTE as GITLAB_ROUTE
from connectors.gitlab.integration import requester as gitlab_requester

UNREACHABLE = (aiohttp.ClientError, TimeoutError, OSError)


def platform_checks(config: Config, clock: Clock, repos: Sequence[str] = ()) -> list[PlatformCheck]:
    """The checks of the enabled platforms; ``repos`` as given to ``doctor --repo``."""
    checks: list[PlatformCheck] = []
    if config.github.enabled:
        github_repos = repos_to_check(config, Forge.GITHUB, repos)
        checks.append(functools.partial(check_github, config, clock, repos=github_repos))
    if config.gitlab.enabled:
        gitlab_repos = repos_to_check(config, Forge.GITLAB, repos)
        checks.append(functools.partial(check_gitlab, config, repos=gitlab_repos))
    if config.slack.enabled:
        checks.append(functools.partial(check_slack, config.slack))
    if config.discord.enabled:
        checks.append(functools.partial(check_discord, config.discord))
    return checks


def repos_to_check(config: Config, forge: Forge, named: Sequence[str]) -> list[str]:
    """The repositories of ``forge`` whose webhooks the doctor reads: those the configuration
    names, and those of ``named`` prefixed ``<forge>:`` or not prefixed at all; sorted,
    lower case, once each."""
    named_in_config = [
        *((w.forge, w.repo) for w in config.ci.workflows),
        *((t.forge, t.repo) for t in config.secrets.tracked),
        *((u.forge, u.repo) for u in config.secrets.usage_tokens),
    ]
    found = {repo for where, repo in named_in_config if where == forge.value}
    for name in named:
        prefix, colon, rest = name.partition(":")
        if not colon:
            found.add(name.lower())
        elif prefix.lower() == forge.value:
            found.add(rest.lower())
    return sorted(repo for repo in found if repo)


def webhook_platforms(config: Config) -> list[str]:
    names = []
    if config.github.enabled:
        names.append("GitHub")
    if config.gitlab.enabled:
        names.append("GitLab")
    if config.slack.enabled and config.slack.mode == HTTP:
        names.append("Slack")
    if config.discord.enabled and config.discord.public_key:
        names.append("Discord")
    return names


async def check_github(
    config: Config, clock: Clock, session: aiohttp.ClientSession, *, repos: Sequence[str] = ()
) -> list[Finding]:
    settings = config.github
    url = config.bot.public_url.rstrip("/") + GITHUB_ROUTE
    try:
        if settings.app_mode:
            return await _github_app(config, settings, clock, session, url)
        return await _github_token(config, settings, session, repos, url)
    except gidgethub.HTTPException as exc:
        what = "github.app_id and github.private_key" if settings.app_mode else "github.token"
        return [fail("github", f"GitHub answered {int(exc.status_code)} ({exc}): check {what}")]
    except UNREACHABLE as exc:
        return [fail("github", f"cannot reach {settings.api_url}: {_reason(exc)}")]


async def _github_token(
    config: Config,
    settings: GitHubSettings,
    session: aiohttp.ClientSession,
    repos: Sequence[str],
    url: str,
) -> list[Finding]:
    assert settings.token is not None  # the settings check guarantees a token or an App
    api = GitHubAPI(
        session,
        github_requester(config.bot),
        oauth_token=settings.token.reveal(),
        base_url=settings.api_url,
    )
    user = await api.getitem("/user")
    login = str(user["login"])
    if login.lower() != settings.bot_login.lower():
        found = fail(
            "github",
            f'the token is {login}\'s but github.bot_login is "{settings.bot_login}": '
            f'set bot_login = "{login}", or the bot reads its own comments',
        )
    else:
        found = ok("github", f"token of {login}")
    return [found, *await github_doctor.repo_hooks(api, repos, url)]


async def _github_app(
    config: Config,
    settings: GitHubSettings,
    clock: Clock,
    session: aiohttp.ClientSession,
    url: str,
) -> list[Finding]:
    assert settings.app_id is not None
    assert settings.private_key is not None
    tokens = AppTokens(
        session,
        base_url=settings.api_url,
        app_id=settings.app_id,
        private_key=settings.private_key.reveal(),
        requester=github_requester(config.bot),
        clock=clock,
    )
    api = tokens.app_api()
    app = await api.getitem("/app")
    installations = [each async for each in api.getiter("/app/installations")]
    if not installations:
        found = [
            ok("github", f"App {app['slug']} (id {app['id']})"),
            fail("github", "the App is installed nowhere: install it on your repositories"),
        ]
    else:
        accounts = ", ".join(sorted(str(each["account"]["login"]) for each in installations))
        found = [ok("github", f"App {app['slug']} (id {app['id']}), installed on {accounts}")]
    return [
        *found,
        *github_doctor.app_findings(app, installations),
        *await github_doctor.app_hook(api, url),
    ]


async def check_gitlab(
    config: Config, session: aiohttp.ClientSession, *, repos: Sequence[str] = ()
) -> list[Finding]:
    settings: GitLabSettings = config.gitlab
    assert settings.token is not None  # the settings check guarantees one when enabled
    api = GitLabApi(
        session,
        base_url=settings.base_url,
        token=settings.token.reveal(),
        requester=gitlab_requester(config.bot),
    )
    try:
        user = await api.getitem("/user")
    except GitLabHTTPException as exc:
        return [fail("gitlab", f"GitLab answered {_status(exc)}: check gitlab.token")]
    except UNREACHABLE as exc:
        return [fail("gitlab", f"cannot reach {settings.base_url}: {_reason(exc)}")]
    username = str(user["username"])
    if username.lower() != settings.bot_username.lower():
        found = fail(
            "gitlab",
            f'the token is {username}\'s but gitlab.bot_username is "{settings.bot_username}": '
            f'set bot_username = "{username}", or the bot reads its own notes',
        )
    else:
        found = ok("gitlab", f"token of {username}")
    url = config.bot.public_url.rstrip("/") + GITLAB_ROUTE
    try:
        hooks = await gitlab_doctor.project_hooks(api, repos, url)
    except UNREACHABLE as exc:
        hooks = [fail("gitlab", f"cannot reach {settings.base_url}: {_reason(exc)}")]
    return [found, *hooks]


async def check_slack(settings: SlackSettings, session: aiohttp.ClientSession) -> list[Finding]:
    assert settings.bot_token is not None  # the settings check guarantees one when enabled
    client = AsyncWebClient(
        token=settings.bot_token.reveal(),
        base_url=settings.api_url,
        session=session,
        timeout=int(settings.request_timeout),
    )
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        return [fail("slack", f"auth.test: {_slack_error(exc)}: check slack.bot_token")]
    except UNREACHABLE as exc:
        return [fail("slack", f"cannot reach {settings.api_url}: {_reason(exc)}")]
    found = ok("slack", f"bot {identity['user']} in workspace {identity['team']}")
    if settings.mode == HTTP:
        return [found]
    assert settings.app_token is not None  # socket mode requires it
    try:
        await client.apps_connections_open(app_token=settings.app_token.reveal())
    except SlackApiError as exc:
        return [
            found,
            fail(
                "slack",
                f"apps.connections.open: {_slack_error(exc)}: check slack.app_token "
                "(an app-level token with connections:write) and that Socket Mode is on",
            ),
        ]
    except UNREACHABLE as exc:
        return [found, fail("slack", f"cannot reach {settings.api_url}: {_reason(exc)}")]
    return [found, ok("slack", "Socket Mode: a connection can be opened")]


async def check_discord(settings: DiscordSettings, session: aiohttp.ClientSession) -> list[Finding]:
    del session  # discord.py keeps a session of its own
    assert settings.bot_token is not None  # the settings check guarantees one when enabled
    http = DiscordHTTP(settings.api_url)
    try:
        await http.log_in(settings.bot_token.reveal())
        user: dict[str, Any] = await http.request(Route("GET", "/users/@me"))
        application: dict[str, Any] = await http.request(Route("GET", "/oauth2/applications/@me"))
    except discord.HTTPException as exc:
        return [fail("discord", f"Discord answered {exc.status}: check discord.bot_token")]
    except UNREACHABLE as exc:
        return [fail("discord", f"cannot reach {settings.api_url}: {_reason(exc)}")]
    finally:
        await http.close()
    found = ok("discord", f"bot {user['username']} (id {user['id']})")
    if str(application["id"]) != settings.application_id:
        return [
            found,
            fail(
                "discord",
                f"the token belongs to application {application['id']} but "
                f'discord.application_id is "{settings.application_id}": set it to '
                f'"{application["id"]}"',
            ),
        ]
    return [found]


def _slack_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or exc.response.status_code)


def _status(exc: GitLabHTTPException) -> str:
    return str(int(exc.status_code))


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
