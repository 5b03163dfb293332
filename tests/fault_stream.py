"""A stream of GitHub commands through the real bot while its database link breaks.

Intent
    ``fault_stack(database_url)`` runs the real application (``bot.app.create_app`` with
    the GitHub integration) on 127.0.0.1 with its database URL pointing at a
    ``TcpProxy`` in front of the test database, and a fake GitHub that receives the
    replies. A test (or ``benchmarks.recovery``) streams signed ``issue_comment``
    deliveries at a fixed rate (``Stack.stream``), breaks the link in the middle (the
    proxy, or ``terminate_backends``), restores it, redelivers what was not accepted the
    way GitHub would (``Stack.redeliver``), and then checks at the fake GitHub that every
    command got exactly its own reply once (``Stack.settle`` and ``verdict``).

    Command ``i`` is ``@chatops tick <i>`` in a comment of its own on thread ``i + 1``,
    answered by the test command ``tick`` (``Reply(title="tick <i>")``). One thread per
    command keeps the replies countable per command and keeps the connector's search for
    an earlier attempt's comment short.

Invariants
    - Every loop is bounded in count and time; every request has GitHub's 10 s deadline.
    - The proxy is restored and closed, and the app and the fake stopped, on the way out,
      whatever happened; dropping the database is the caller's (the ``postgres_url``
      fixture's) job.
    - Nothing here mocks the bot: the checks read the fake GitHub's comments and, for
      invocation ids and queue depths, the database directly (not through the proxy).
    - The app runs on the real clock: leases and retries must come due by themselves.
    - GitHub writes are not paced (``write_interval=0``, as in ``tests.github_stack``): at
      a second per write, one installation's stream would take minutes to drain.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from bot.app import builtin_features, create_app
from bot.clock import SystemClock
from bot.config import Config, OutboxSettings, WorkerSettings
from bot.context import Context
from bot.features import commands_feature
from bot.messages import Reply, Status
from bot.router import Command
from connectors.github.integration import GitHubIntegration
from connectors.github.protocol import sign
from connectors.markdown import marker_comment
from tests.fakes.github import FakeGitHub
from tests.fakes.tcp_proxy import TcpProxy
from tests.github_stack import SECRET, TOKEN, comment_payload, github_config, migrate

REPO = "Codertocat/Hello-World"
AUTHOR = "Codertocat"
BOT = "chatops-bot"
GITHUB_DEADLINE = 10.0  # GitHub counts a delivery as failed after this many seconds
READY_DEADLINE = 1.0  # /readyz must answer within this
ACCEPTED = frozenset({200, 202})
LOG = logging.getLogger("chatops.test.faults")


@dataclass(frozen=True, slots=True)
class TickArgs:
    n: int


async def tick(_ctx: Context, args: TickArgs) -> Reply:
    return Reply(title=f"tick {args.n}", status=Status.OK)


TICK = Command(name="tick", summary="Answer with the number given.", handler=tick, args=TickArgs)


@dataclass(frozen=True, slots=True)
class Delivery:
    """Command ``n``'s delivery: sent once, and again (same id, same body) if not accepted."""

    n: int
    delivery: str
    body: bytes

    @property
    def thread(self) -> int:
        return self.n + 1


@dataclass(frozen=True, slots=True)
class Answer:
    """How the bot answered one attempt; ``status`` 0 means no answer within the deadline."""

    n: int
    status: int
    seconds: float
    sent_at: float  # monotonic
    body: str = ""

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED


@dataclass
class Progress:
    """A stream as it goes: deliveries sent so far (in order), answers as they came."""

    sent: int = 0
    answers: list[Answer] = field(default_factory=list)


@dataclass
class Stack:
    client: TestClient[Any, Any]
    github: FakeGitHub
    proxy_or_none: TcpProxy | None  # None on SQLite
    config: Config
    direct_url: str  # the database itself, not through the proxy

    @property
    def proxy(self) -> TcpProxy:
        if self.proxy_or_none is None:
            raise RuntimeError("no proxy: the database is SQLite")
        return self.proxy_or_none

    def deliveries(self, count: int) -> list[Delivery]:
        """``count`` commands, each seeded as a comment at the fake, with its signed body."""
        made = []
        for n in range(count):
            text = f"@chatops tick {n}"
            payload = comment_payload(text, on_pull=False, login=AUTHOR)
            payload["issue"]["number"] = n + 1
            payload["comment"]["id"] = self.github.seed_comment(REPO, n + 1, text, AUTHOR)
            made.append(Delivery(n, str(uuid.uuid4()), json.dumps(payload).encode()))
        return made

    async def deliver(self, delivery: Delivery) -> Answer:
        headers = {
            "X-GitHub-Event": "issue_comment",
            "X-GitHub-Delivery": delivery.delivery,
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/044aadd",
            "X-Hub-Signature-256": sign(delivery.body, SECRET),
        }
        started = time.monotonic()
        try:
            async with self.client.post(
                "/webhooks/github",
                data=delivery.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=GITHUB_DEADLINE),
            ) as response:
                body = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            status, body = 0, type(exc).__name__
        return Answer(delivery.n, status, time.monotonic() - started, started, body)

    async def stream(
        self, deliveries: Sequence[Delivery], rate: float, progress: Progress | None = None
    ) -> list[Answer]:
        """Send each delivery once, ``rate`` per second whatever the answers (open loop)."""
        progress = progress or Progress()
        start = time.monotonic()
        tasks = []
        for index, delivery in enumerate(deliveries):
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
            task = asyncio.create_task(self.deliver(delivery))
            task.add_done_callback(lambda done: progress.answers.append(done.result()))
            tasks.append(task)
            progress.sent += 1
        return list(await asyncio.gather(*tasks))

    async def redeliver(
        self, deliveries: Sequence[Delivery], answers: Sequence[Answer], within: float
    ) -> list[Answer]:
        """Resend every delivery never accepted, until accepted or ``within`` seconds pass."""
        accepted = {a.n for a in answers if a.accepted}
        waiting = [d for d in deliveries if d.n not in accepted]
        resent: list[Answer] = []
        deadline = time.monotonic() + within
        while waiting and time.monotonic() < deadline:
            round_answers = await asyncio.gather(*(self.deliver(d) for d in waiting))
            resent.extend(round_answers)
            done = {a.n for a in round_answers if a.accepted}
            waiting = [d for d in waiting if d.n not in done]
            if waiting:
                await asyncio.sleep(0.5)
        return resent

    def replies(self, delivery: Delivery) -> list[str]:
        """The bot's comments in the command's thread, oldest first."""
        thread = self.github.world.thread(REPO, delivery.thread)
        return [c.body for c in thread if c.author == BOT]

    async def settle(self, deliveries: Sequence[Delivery], within: float) -> float:
        """Wait until every command has a reply (or ``within`` passes); the seconds taken."""
        started = time.monotonic()
        deadline = started + within
        while time.monotonic() < deadline:
            if all(self.replies(d) for d in deliveries):
                break
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def readyz(self) -> Answer:
        started = time.monotonic()
        try:
            async with self.client.get(
                "/readyz", timeout=aiohttp.ClientTimeout(total=READY_DEADLINE)
            ) as response:
                return Answer(-1, response.status, time.monotonic() - started, started)
        except (TimeoutError, aiohttp.ClientError):
            return Answer(-1, 0, time.monotonic() - started, started)

    async def invocation_ids(self) -> dict[int, str]:
        """Command number -> invocation id, read from the inbox directly."""
        rows = await _query(self.direct_url, "SELECT invocation FROM chatops_inbox")
        ids: dict[int, str] = {}
        for (raw,) in rows:
            invocation = json.loads(raw) if isinstance(raw, str) else raw
            ids[int(str(invocation["text"]).split()[-1])] = str(invocation["id"])
        return ids

    async def depths(self) -> tuple[int, int]:
        """Rows waiting (pending or claimed) in the inbox and the outbox, read directly."""
        waiting = "status IN ('pending', 'claimed')"
        rows = await _query(
            self.direct_url,
            f"SELECT (SELECT count(*) FROM chatops_inbox WHERE {waiting}), "
            f"(SELECT count(*) FROM chatops_outbox WHERE {waiting})",
        )
        inbox, outbox = rows[0]
        return int(inbox), int(outbox)


def expected_reply(n: int, invocation_id: str) -> str:
    """The whole comment that answers ``@chatops tick <n>``."""
    marker = marker_comment(f"reply:{invocation_id}")
    return f"> @&#8203;chatops tick {n}\n\n✅ **tick {n}**\n\n{marker}"


async def verdict(
    stack: Stack, deliveries: Sequence[Delivery], answers: Sequence[Answer]
) -> dict[str, Any]:
    """What went wrong, by kind; every list is empty when the contract held.

    - ``never_accepted``: commands no attempt got a 2xx for, redeliveries included;
    - ``lost``: commands accepted at least once (2xx) that have no reply;
    - ``duplicated``: commands with more than one reply;
    - ``wrong``: commands whose one reply is not exactly their own answer;
    - ``unanswered_in_deadline``: attempts with no HTTP answer within GitHub's 10 s;
    - ``bad_status``: attempts answered, in time, with anything but 2xx or 503.
    """
    accepted = {a.n for a in answers if a.accepted}
    slowest = max((a.seconds for a in answers), default=0.0)
    statuses = Counter(a.status for a in answers)
    LOG.info("answers by status %s, slowest %.1fs", dict(statuses), slowest)
    ids = await stack.invocation_ids()
    lost, duplicated, wrong = [], [], []
    for delivery in deliveries:
        replies = stack.replies(delivery)
        if len(replies) > 1:
            duplicated.append(delivery.n)
        elif not replies:
            if delivery.n in accepted:
                lost.append(delivery.n)
        elif delivery.n not in ids or replies[0] != expected_reply(delivery.n, ids[delivery.n]):
            wrong.append((delivery.n, replies[0]))
    return {
        "never_accepted": sorted({d.n for d in deliveries} - accepted),
        "lost": lost,
        "duplicated": duplicated,
        "wrong": wrong,
        "unanswered_in_deadline": [a.n for a in answers if a.status == 0],
        "bad_status": [
            (a.n, a.status, a.body) for a in answers if a.status not in {*ACCEPTED, 503, 0}
        ],
    }


CLEAN: dict[str, Any] = {
    "never_accepted": [],
    "lost": [],
    "duplicated": [],
    "wrong": [],
    "unanswered_in_deadline": [],
    "bad_status": [],
}


def fault_config(database_url: str, api_url: str) -> Config:
    """The GitHub test config, on the real clock, with leases short enough for a test.

    A claim whose completion died with its connection comes back when its lease ends,
    so the lease bounds the recovery time; handlers (ticks) finish in milliseconds.
    """
    config = github_config(database_url, api_url)
    return dataclasses.replace(
        config,
        workers=WorkerSettings(poll_interval=0.05, lease_seconds=5.0, handler_timeout=2.0),
        outbox=OutboxSettings(
            lease_seconds=5.0, backoff_base=0.05, backoff_cap=0.5, acknowledge_after=0.0
        ),
    )


def proxied(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{port}"
    if parts.password:
        netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def fault_stack(database_url: str) -> AsyncIterator[Stack]:
    """The real app on a migrated database (behind a proxy on PostgreSQL) and a fake GitHub."""
    await migrate(database_url)
    async with AsyncExitStack() as resources:
        proxy: TcpProxy | None = None
        url = database_url
        if urlsplit(database_url).scheme != "sqlite":
            upstream = urlsplit(database_url)
            proxy = await resources.enter_async_context(
                TcpProxy(upstream.port or 5432, upstream.hostname or "127.0.0.1")
            )
            resources.callback(proxy.restore)  # runs before the proxy closes
            url = proxied(database_url, proxy.port)
        github = await resources.enter_async_context(FakeGitHub())
        github.add_token(TOKEN)
        github.set_permission(REPO, AUTHOR, "read")
        config = fault_config(url, github.url)
        app = create_app(
            config,
            features=[*builtin_features(), commands_feature("tests", [TICK])],
            # unpaced writes (production spaces them a second apart per installation):
            # the stream is one installation's, and must drain within a test
            integrations=[GitHubIntegration(config.github, config.bot, write_interval=0.0)],
            clock=SystemClock(),
        )
        client = await resources.enter_async_context(
            TestClient(TestServer(app, host="127.0.0.1", port=0))
        )
        yield Stack(client, github, proxy, config, database_url)


async def terminate_backends(database_url: str) -> int:
    """``pg_terminate_backend`` on every other connection to this test database only."""
    name = urlsplit(database_url).path.lstrip("/")
    rows = await _query(
        database_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    return int(rows[0][0])


async def _query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if urlsplit(url).scheme == "sqlite":
        return await asyncio.to_thread(_sqlite_query, url, sql)
    connection = await asyncpg.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql")))
    try:
        return [tuple(row) for row in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


def _sqlite_query(url: str, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(url.split("://", 1)[1], timeout=10)
    try:
        return list(connection.execute(sql).fetchall())
    finally:
        connection.close()
