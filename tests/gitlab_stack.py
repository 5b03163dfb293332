"""A running bot with GitLab enabled, wired to a fake GitLab, for the GitLab tests.

``gitlab_stack`` starts the fake GitLab API and the real application (webhook route,
workers, outbox) on 127.0.0.1, with a fake clock; ``deliver`` posts a delivery the way
GitLab does (``X-Gitlab-Token``, the delivery UUID headers, optionally signed).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app import builtin_features, create_app, listed
from bot.ci.settings import CiSettings
from bot.config import (
    Config,
    DatabaseSettings,
    OutboxSettings,
    PermissionsSettings,
    Secret,
    WorkerSettings,
)
from bot.config.platforms import GitLabSettings, SlackSettings
from bot.features import commands_feature
from bot.messages import Platform
from bot.router import Command
from connectors.enabled import enabled_integrations
from connectors.gitlab.integration import GitLabIntegration
from connectors.gitlab.protocol import sign
from tests.fakes.clock import FakeClock
from tests.fakes.gitlab import FakeGitLab, User
from tests.fakes.server import checked
from tests.github_stack import DEPLOY, migrate

WEBHOOKS = Path(__file__).parent / "fixtures" / "gitlab" / "webhooks"
WEBHOOK_TOKEN = "gitlab webhook token for tests"
API_TOKEN = "glpat-test-token"
# a Standard Webhooks signing token: whsec_ + base64 of 32 bytes
SIGNING_TOKEN = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
PROJECT = "gitlab-org/gitlab-test"  # the project of GitLab's example note payloads
PROJECT_ID = 5
MR_IID = 1  # the merge request of docs/note.merge_request.json
ISSUE_IID = 17  # the issue of docs/note.issue.json


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return data


@dataclass
class Stack:
    client: TestClient[Any, Any]
    gitlab: FakeGitLab
    clock: FakeClock
    config: Config
    author: User

    def note(
        self, text: str, *, on: str = "merge_requests", author: User | None = None
    ) -> dict[str, Any]:
        """A new note by ``author`` (default the stack's) in the example MR (or issue): at
        the fake, and as GitLab's example payload carrying it."""
        author = author or self.author
        name = "note.merge_request.json" if on == "merge_requests" else "note.issue.json"
        iid = MR_IID if on == "merge_requests" else ISSUE_IID
        payload = copy.deepcopy(example(f"docs/{name}"))
        note = self.gitlab.seed_note(PROJECT, f"{on}/{iid}", text, author)
        payload["object_attributes"]["note"] = text
        payload["object_attributes"]["id"] = note.id
        payload["object_attributes"]["author_id"] = author.id
        payload["user"].update({"id": author.id, "username": author.username, "name": author.name})
        return payload

    async def deliver(
        self,
        payload: dict[str, Any] | bytes,
        *,
        event: str = "Note Hook",
        token: str | None = WEBHOOK_TOKEN,
        idempotency_key: str | None = None,
        signing_token: str | None = None,
        signed_at: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        key = idempotency_key or str(uuid.uuid4())
        sent = {
            "X-Gitlab-Event": event,
            "Idempotency-Key": key,
            "X-Gitlab-Event-UUID": str(uuid.uuid4()),
            "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
            "X-Gitlab-Instance": "https://gitlab.example.com",
            "Content-Type": "application/json",
            "User-Agent": "GitLab/17.6.0",
        }
        if token is not None:
            sent["X-Gitlab-Token"] = token
        if signing_token is not None:
            timestamp = str(signed_at or int(self.clock.now().timestamp()))
            sent["webhook-id"] = key
            sent["webhook-timestamp"] = timestamp
            sent["webhook-signature"] = sign(body, signing_token, key, timestamp)
        sent.update(headers or {})
        return await self.client.post("/webhooks/gitlab", data=body, headers=sent)


def gitlab_config(
    database_url: str,
    base_url: str,
    ci: CiSettings | None = None,
    *,
    slack: SlackSettings | None = None,
    permissions: PermissionsSettings | None = None,
    **gitlab: Any,
) -> Config:
    settings: dict[str, Any] = {
        "enabled": True,
        "base_url": base_url,
        "token": Secret("env:GITLAB_TOKEN", API_TOKEN),
        "webhook_tokens": (Secret("env:GITLAB_WEBHOOK_TOKEN", WEBHOOK_TOKEN),),
        **gitlab,
    }
    return Config(
        database=DatabaseSettings(url=database_url),
        workers=WorkerSettings(poll_interval=0.01),
        # acknowledged at once: these tests follow each 👀 (the delay has its own tests)
        outbox=OutboxSettings(backoff_base=0.01, backoff_cap=0.05, acknowledge_after=0.0),
        gitlab=GitLabSettings(**settings),
        ci=ci or CiSettings(),
        slack=slack or SlackSettings(),
        permissions=permissions or PermissionsSettings(),
    )


@asynccontextmanager
async def gitlab_stack(
    database_url: str,
    *,
    clock: FakeClock | None = None,
    extra_commands: Sequence[Command[Any]] = (DEPLOY,),
    ci: CiSettings | None = None,
    slack: SlackSettings | None = None,
    permissions: PermissionsSettings | None = None,
    write_interval: float = 0.0,
    **gitlab: Any,
) -> AsyncIterator[Stack]:
    """The example project (id 5) exists at the fake; ``stack.author`` ("alice") is a
    developer there. With ``slack``, the Slack connector runs too (every integration the
    configuration enables is installed). ``write_interval`` spaces GitLab writes as in
    production (1 s) when a test asks; by default it is 0, since the fake clock does not
    move while the bot would wait."""
    clock = clock or FakeClock()
    await migrate(database_url)
    async with checked(FakeGitLab(token=API_TOKEN, clock=clock.now)) as fake:
        fake.add_project(PROJECT, project_id=PROJECT_ID)
        author = fake.add_user("alice")
        fake.set_access_level(PROJECT, author, 30)
        config = gitlab_config(
            database_url, fake.url, ci, slack=slack, permissions=permissions, **gitlab
        )
        features = [*builtin_features(), commands_feature("tests", extra_commands)]
        app = create_app(
            config,
            features=features,
            integrations=[
                GitLabIntegration(config.gitlab, config.bot, write_interval=write_interval)
                if integration.platform is Platform.GITLAB
                else integration
                for integration in enabled_integrations(config, listed(features).commands)
            ],
            clock=clock,
        )
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            yield Stack(client=client, gitlab=fake, clock=clock, config=config, author=author)
