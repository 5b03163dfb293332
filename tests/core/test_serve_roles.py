"""``serve --role``: a web process stores commands and answers none; a worker process on
the same database answers them. Real applications, a fake GitHub, both back ends."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.app import builtin_features, create_app
from bot.cli import _parser
from bot.config import Config, OutboxSettings, WorkerSettings
from bot.loops import Role, pool_size
from bot.store.models import InboxItem, InboxStatus
from connectors.github.integration import GitHubIntegration
from tests.core.test_cli import EXAMPLE, ROOT, TIMEOUT, _clean_env
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.fakes.waiting import wait_until
from tests.github_stack import TOKEN, Stack, github_config, migrate

REPO = "Codertocat/Hello-World"
WORKER_DEPLOYMENT = ROOT / "deploy" / "kubernetes" / "examples" / "worker-deployment.yaml"


@asynccontextmanager
async def running(
    config: Config, role: Role, clock: FakeClock
) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(
        config,
        features=builtin_features(),
        integrations=[GitHubIntegration(config.github, config.bot)],
        clock=clock,
        role=role,
    )
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


def bot_comments(github: FakeGitHub) -> list[str]:
    return [c.body for c in github.world.thread(REPO, 1) if c.author == "chatops-bot"]


async def statuses() -> list[str]:
    return [row.status for row in await InboxItem.all()]


async def test_a_command_stored_by_the_web_process_is_answered_by_the_worker_process(
    database_url: str,
) -> None:
    clock = FakeClock()
    await migrate(database_url)
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token(TOKEN)
        github.set_permission(REPO, "Codertocat", "read")
        config = github_config(database_url, github.url)
        # a loop that had work for this long would be stalled: the web process runs none
        config = dataclasses.replace(
            config, workers=dataclasses.replace(config.workers, stalled_after=0.05)
        )
        async with running(config, "web", clock) as web_client:
            stack = Stack(client=web_client, github=github, clock=clock, config=config)
            answer = await stack.deliver("issue_comment", stack.comment("@chatops ping"))
            assert (answer.status, await answer.json()) == (202, {"accepted": 1, "duplicates": 0})
            await asyncio.sleep(0.3)  # what the web process would have answered by now
            assert (await statuses(), bot_comments(github)) == ([InboxStatus.PENDING], [])
            ready = await web_client.get("/readyz")
            assert (ready.status, await ready.json()) == (200, {"status": "ready"})

            async with running(config, "worker", clock) as worker_client:
                await wait_until(lambda: _answered(github))
                assert await statuses() == [InboxStatus.DONE]
                for path in ("/healthz", "/readyz", "/metrics"):
                    assert (await worker_client.get(path)).status == 200, path
        [reply] = bot_comments(github)
        assert "**pong**" in reply


async def _answered(github: FakeGitHub) -> bool:
    return len(bot_comments(github)) == 1


def test_the_pool_holds_a_connection_per_worker_and_sender_slot_and_spares() -> None:
    default = Config()
    busy = Config(workers=WorkerSettings(concurrency=16), outbox=OutboxSettings(concurrency=24))
    assert [pool_size(default, role) for role in ("all", "worker", "web")] == [12, 12, 10]
    assert [pool_size(busy, role) for role in ("all", "worker", "web")] == [44, 44, 10]


def test_the_worker_deployment_runs_the_worker_role_probed_on_routes_it_serves() -> None:
    manifest = yaml.safe_load(WORKER_DEPLOYMENT.read_text(encoding="utf-8"))
    [container] = manifest["spec"]["template"]["spec"]["containers"]
    args = _parser().parse_args(container["args"])
    assert (args.command, args.role) == ("serve", "worker")
    app = create_app(Config(), role="worker")
    routes = {route.resource.canonical for route in app.router.routes() if route.resource}
    probes = {container[probe]["httpGet"]["path"] for probe in ("livenessProbe", "readinessProbe")}
    assert probes == {"/healthz", "/readyz"} <= routes
    # the Service selects the web pods' label, not these
    labels = manifest["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "chatops-bridge-worker"


def test_serve_with_a_role_says_it_and_its_loop_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**_clean_env(), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(EXAMPLE), "migrate"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    expected_loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    command = [sys.executable, "-m", "bot", "--config", str(EXAMPLE)]
    with subprocess.Popen(
        [*command, "serve", "--port", "0", "--role", "web"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as server:
        assert server.stderr is not None
        lines = []
        try:
            while not any("listening on" in line for line in lines):
                line = server.stderr.readline()
                assert line, "the server exited before it listened"
                lines.append(line)
        finally:
            server.send_signal(signal.SIGTERM)
            _, rest = server.communicate(timeout=TIMEOUT)
    assert server.returncode == 0
    logged = [json.loads(line) for line in [*lines, *rest.splitlines()]]
    ours = [line["msg"] for line in logged if line["logger"] == "chatops"]
    assert f"role web, on the {expected_loop} event loop" in ours
    assert ours[-2:] == ["shutting down", "stopped"]
