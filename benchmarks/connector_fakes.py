"""Every platform the bot speaks to, faked on loopback, for the start-up benchmark.

Intent
    ``chatops serve`` with every connector enabled talks to each platform while it starts
    (Discord's log-in and command sync, Slack's Socket Mode connection, ...). So that the
    start-up time is the bot's and not a timeout's, each is pointed at the project's own
    fake: ``tests.fakes.gitlab.FakeGitLab``, ``tests.fakes.slack.FakeSlack`` (Web API and
    Socket Mode), ``tests.fakes.discord.FakeDiscord`` (REST and gateway), and for GitHub
    ``benchmarks.reply_fake``. They run on an event loop in a background thread of a
    ``ProcessPoolExecutor`` worker, a process of their own; ``start`` returns what the
    configuration needs and ``stop`` closes them all. It starts the fakes of older
    checkouts too (so a "before" can be measured with today's benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from benchmarks.reply_fake import ReplyFake
from tests.fakes.discord import FakeDiscord
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack

CALL_TIMEOUT = 60.0
GITLAB_TOKEN = "glpat-bot-token"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Endpoints:
    github_api: str
    gitlab_url: str
    gitlab_token: str
    slack_api: str
    slack_bot_token: str
    slack_app_token: str
    discord_api: str
    discord_token: str
    discord_application_id: str


class _Host:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stack: contextlib.AsyncExitStack | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(CALL_TIMEOUT)


class _Holder:
    """The one host of this worker process, made on first use (not at import)."""

    host: _Host | None = None

    @classmethod
    def get(cls) -> _Host:
        if cls.host is None:
            cls.host = _Host()
        return cls.host


async def _entered(stack: contextlib.AsyncExitStack, fake: Any) -> Any:
    """Start a test fake whichever way its version starts: ``async with`` (the fakes built
    on ``tests.fakes.server``), a ``running()`` context, or ``start()`` and ``close()``."""
    if isinstance(fake, type):
        opener = getattr(fake, "running", None)
        fake = fake() if opener is None else opener()
        if opener is not None:
            return await stack.enter_async_context(fake)
    if hasattr(fake, "__aenter__"):
        return await stack.enter_async_context(fake)
    await fake.start()
    stack.push_async_callback(fake.close)
    return fake


async def _started(host: _Host) -> Endpoints:
    if host.stack is not None:
        await host.stack.aclose()
    stack = contextlib.AsyncExitStack()
    github = ReplyFake()
    await github.start()
    stack.push_async_callback(github.close)
    gitlab = await _entered(stack, FakeGitLab(token=GITLAB_TOKEN))
    slack = await _entered(stack, FakeSlack)
    discord = await _entered(stack, FakeDiscord())
    host.stack = stack
    return Endpoints(
        github_api=github.url,
        gitlab_url=gitlab.url,
        gitlab_token=GITLAB_TOKEN,
        slack_api=slack.api_url,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        discord_api=discord.api_url,
        discord_token=discord.token,
        discord_application_id=discord.application_id,
    )


def start() -> Endpoints:
    """(Re)start every fake; where they are and the credentials they accept."""
    host = _Holder.get()
    return host.run(_started(host))


def stop() -> None:
    host = _Holder.get()

    async def stopped() -> None:
        if host.stack is not None:
            await host.stack.aclose()
            host.stack = None

    host.run(stopped())
