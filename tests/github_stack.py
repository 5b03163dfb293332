"""A running bot with GitHub enabled, wired to a fake GitHub, for the GitHub tests.

``github_stack`` starts the fake GitHub API and the real application (webhook route,
workers, outbox) on 127.0.0.1, with a fake clock; ``deliver`` posts a signed delivery
the way GitHub does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app import builtin_features, create_app
from bot.arguments import NoArgs
from bot.ci.settings import CiSettings
from bot.config import (
    Config,
    DatabaseSettings,
    OutboxSettings,
    PermissionsSettings,
    Secret,
    WorkerSettings,
)
from bot.config.platforms import GitHubSettings
from bot.context import Context
from bot.features import commands_feature
from bot.messages import Level, Reply, Status
from bot.router import Command
from bot.store.database import open_database
from connectors.github.integration import GitHubIntegration
from connectors.github.protocol import sign
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.github_payloads import workflow_run_payload

WEBHOOKS = Path(__file__).parent / "fixtures" / "github" / "webhooks"
SECRET = "webhook secret for tests"
TOKEN = "ghp_test_token"
APP_ID = 4242
INSTALLATION = 1  # the installation id in the "with-installation" example payloads


async def deploy(_ctx: Context, _args: NoArgs) -> Reply:
    return Reply(title="deployed", status=Status.OK)


DEPLOY = Command(
    name="deploy",
    summary="A write-level test command.",
    handler=deploy,
    args=NoArgs,
    level=Level.WRITE,
)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return data


def comment_payload(
    body: str, *, on_pull: bool = True, login: str = "Codertocat"
) -> dict[str, Any]:
    """GitHub's example ``issue_comment.created`` (App variant) with our own comment text."""
    data = example("issue_comment.created.with-installation.json")
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = login
    data["sender"]["login"] = login
    if on_pull:
        data["issue"]["pull_request"] = {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"
        }
    return data


def app_key() -> tuple[str, bytes]:
    """A fresh RSA key: the private PEM (for the bot) and the public PEM (for the fake)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass
class Stack:
    client: TestClient[Any, Any]
    github: FakeGitHub
    clock: FakeClock
    config: Config
    sent_deliveries: list[str] = field(default_factory=list)

    def comment(
        self, body: str, *, login: str = "Codertocat", on_pull: bool = True
    ) -> dict[str, Any]:
        """A comment on thread 1 of the example repository: at the fake, and as a payload."""
        payload = comment_payload(body, on_pull=on_pull, login=login)
        repo = payload["repository"]["full_name"]
        payload["comment"]["id"] = self.github.seed_comment(repo, 1, body, login)
        return payload

    def workflow_run_payload(self, run_id: int, action: str) -> dict[str, Any]:
        """The ``workflow_run`` delivery GitHub would send now for the fake's run."""
        return workflow_run_payload(self.github, run_id, action)

    async def deliver(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery: str | None = None,
        secret: str | None = SECRET,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        delivery = delivery or str(uuid.uuid4())
        sent = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/044aadd",
        }
        if secret is not None:
            sent["X-Hub-Signature-256"] = sign(body, secret)
        sent.update(headers or {})
        self.sent_deliveries.append(delivery)
        return await self.client.post("/webhooks/github", data=body, headers=sent)


def github_config(
    database_url: str,
    api_url: str,
    ci: CiSettings | None = None,
    acknowledge_after: float = 0.0,
    permissions: PermissionsSettings | None = None,
    **github: Any,
) -> Config:
    settings: dict[str, Any] = {
        "enabled": True,
        "api_url": api_url,
        "webhook_secrets": (Secret("env:GITHUB_WEBHOOK_SECRET", SECRET),),
        **github,
    }
    if "app_id" not in github and "token" not in github:
        settings["token"] = Secret("env:GITHUB_TOKEN", TOKEN)
    return Config(
        database=DatabaseSettings(url=database_url),
        workers=WorkerSettings(poll_interval=0.01),
        # acknowledged at once: these tests follow each 👀 (the delay has its own tests)
        outbox=OutboxSettings(
            backoff_base=0.01, backoff_cap=0.05, acknowledge_after=acknowledge_after
        ),
        github=GitHubSettings(**settings),
        ci=ci or CiSettings(),
        permissions=permissions or PermissionsSettings(),
    )


async def migrate(database_url: str) -> None:
    database = await open_database(database_url, require_migrated=False)
    await database.migrate()
    await database.close()


@asynccontextmanager
async def github_stack(
    database_url: str,
    *,
    fake: FakeGitHub | None = None,
    clock: FakeClock | None = None,
    extra_commands: Sequence[Command[Any]] = (DEPLOY,),
    ci: CiSettings | None = None,
    write_interval: float = 0.0,
    acknowledge_after: float = 0.0,
    permissions: PermissionsSettings | None = None,
    **github: Any,
) -> AsyncIterator[Stack]:
    """``write_interval`` spaces GitHub writes as in production (1 s) when a test asks;
    by default it is 0, since the fake clock does not move while the bot would wait."""
    clock = clock or FakeClock()
    await migrate(database_url)
    async with fake or FakeGitHub(clock=clock.now) as fake_github:
        fake_github.add_token(TOKEN)
        config = github_config(
            database_url, fake_github.url, ci, acknowledge_after, permissions, **github
        )
        app = create_app(
            config,
            features=[*builtin_features(), commands_feature("tests", extra_commands)],
            integrations=[
                GitHubIntegration(config.github, config.bot, write_interval=write_interval)
            ],
            clock=clock,
        )
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            yield Stack(client=client, github=fake_github, clock=clock, config=config)
