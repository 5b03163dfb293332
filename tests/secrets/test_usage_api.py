"""``POST /api/usage`` on the real application: every rule, whole answers, whole rows."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Config, DatabaseSettings
from bot.config.secret_values import Secret
from bot.messages import Forge
from bot.secrets.models import SecretUse, TrackedSecret
from bot.secrets.settings import SecretsSettings, UsageToken
from bot.secrets.store import SecretRegistry
from bot.secrets.usage_api import MAX_BODY_BYTES
from bot.store.database import open_database
from tests.fakes.clock import FakeClock

WEB_TOKEN = "usage-token-acme-web-0123456789"
API_TOKEN = "usage-token-acme-api-9876543210"
GITLAB_TOKEN = "usage-token-gitlab-platform-5555"
START = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
USED_AT = "2026-11-21T11:30:00Z"
Client = TestClient[Any, Any]
UNAUTHENTICATE = 'Bearer realm="chatops usage"'

TOKENS = (
    UsageToken(repo="Acme/Web", token=Secret("env:ACME_WEB_USAGE", WEB_TOKEN)),
    UsageToken(repo="acme/api", token=Secret("env:ACME_API_USAGE", API_TOKEN)),
    UsageToken(
        repo="platform/infra/deploy",
        forge="gitlab",
        token=Secret("env:DEPLOY_USAGE", GITLAB_TOKEN),
    ),
)


def report(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "repo": "acme/web",
        "secrets": ["NPM_TOKEN", "PYPI_TOKEN"],
        "used_by": "pipeline 1234",
        "url": "https://github.com/acme/web/actions/runs/1234",
        "used_at": USED_AT,
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


@asynccontextmanager
async def running_app(
    url: str, tokens: Sequence[UsageToken], clock: FakeClock
) -> AsyncIterator[Client]:
    database = await open_database(url, require_migrated=False)
    await database.migrate()
    await database.close()
    config = Config(
        database=DatabaseSettings(url=url), secrets=SecretsSettings(usage_tokens=tuple(tokens))
    )
    app = create_app(config, clock=clock)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def api(database_url: str, clock: FakeClock) -> AsyncIterator[Client]:
    async with running_app(database_url, TOKENS, clock) as client:
        yield client


async def post(
    client: Client, body: object, token: str | None = WEB_TOKEN, **kwargs: Any
) -> ClientResponse:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if isinstance(body, bytes):
        return await client.post("/api/usage", data=body, headers=headers, **kwargs)
    return await client.post("/api/usage", json=body, headers=headers, **kwargs)


async def answer(response: ClientResponse) -> tuple[int, Any]:
    return response.status, await response.json()


async def use_rows() -> list[dict[str, Any]]:
    rows = await SecretUse.all().order_by("forge", "repo", "name").values()
    return [{key: value for key, value in row.items() if key != "id"} for row in rows]


async def tracked_rows() -> list[dict[str, Any]]:
    rows = await TrackedSecret.all().order_by("forge", "repo", "name").values()
    return [{key: value for key, value in row.items() if key != "id"} for row in rows]


def use_row(name: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "forge": "github",
        "repo": "acme/web",
        "name": name,
        "used_by": "pipeline 1234",
        "url": "https://github.com/acme/web/actions/runs/1234",
        "used_at": datetime(2026, 11, 21, 11, 30, tzinfo=UTC),
        "source": "api",
    }
    return row | changes


def tracked_row(name: str, expires_on: date, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "forge": "github",
        "repo": "acme/web",
        "name": name,
        "expires_on": expires_on,
        "owner": None,
        "rotate_url": None,
        "source": "usage",
        "set_by": "pipeline 1234",
        "created_at": START,
        "updated_at": START,
        "acked_expiry": None,
        "snoozed_until": None,
        "issue_number": None,
    }
    return row | changes


# -- success and idempotency ------------------------------------------------------------


async def test_a_report_records_each_use_and_tracks_the_expiry_dates(api: Client) -> None:
    response = await post(api, report(expires={"NPM_TOKEN": "2027-03-31"}))

    assert await answer(response) == (
        200,
        {
            "repo": "acme/web",
            "forge": "github",
            "recorded": ["NPM_TOKEN", "PYPI_TOKEN"],
            "unchanged": [],
            "tracked": ["NPM_TOKEN"],
        },
    )
    assert await use_rows() == [use_row("NPM_TOKEN"), use_row("PYPI_TOKEN")]
    assert await tracked_rows() == [tracked_row("NPM_TOKEN", date(2027, 3, 31))]


async def test_the_same_report_twice_changes_nothing_the_second_time(
    api: Client, clock: FakeClock
) -> None:
    body = report(expires={"NPM_TOKEN": "2027-03-31"})
    await post(api, body)
    uses, tracked = await use_rows(), await tracked_rows()
    clock.advance(3600)

    response = await post(api, body)

    assert await answer(response) == (
        200,
        {
            "repo": "acme/web",
            "forge": "github",
            "recorded": [],
            "unchanged": ["NPM_TOKEN", "PYPI_TOKEN"],
            "tracked": [],
        },
    )
    assert (await use_rows(), await tracked_rows()) == (uses, tracked)


async def test_without_used_at_the_use_is_now_and_a_later_report_replaces_it(
    api: Client, clock: FakeClock
) -> None:
    await post(api, report(used_at=None, secrets=["NPM_TOKEN"]))
    clock.advance(600)

    response = await post(
        api, report(used_at=None, secrets=["NPM_TOKEN"], used_by="pipeline 1240", url=None)
    )

    assert await answer(response) == (
        200,
        {
            "repo": "acme/web",
            "forge": "github",
            "recorded": ["NPM_TOKEN"],
            "unchanged": [],
            "tracked": [],
        },
    )
    assert await use_rows() == [
        use_row(
            "NPM_TOKEN", used_by="pipeline 1240", url=None, used_at=START + timedelta(minutes=10)
        )
    ]


async def test_an_older_report_does_not_move_the_last_use_back(api: Client) -> None:
    await post(api, report(secrets=["NPM_TOKEN"]))

    response = await post(
        api, report(secrets=["NPM_TOKEN"], used_by="pipeline 1200", used_at="2026-11-20T09:00:00Z")
    )

    assert await answer(response) == (
        200,
        {
            "repo": "acme/web",
            "forge": "github",
            "recorded": [],
            "unchanged": ["NPM_TOKEN"],
            "tracked": [],
        },
    )
    assert await use_rows() == [use_row("NPM_TOKEN")]


async def test_a_new_expiry_date_keeps_the_owner_and_rotation_link_and_clears_the_ack(
    api: Client, clock: FakeClock
) -> None:
    registry = SecretRegistry()
    await registry.track(
        Forge.GITHUB,
        "acme/web",
        "NPM_TOKEN",
        expires_on=date(2026, 12, 1),
        owner="@release-team",
        rotate_url="https://www.npmjs.com/settings/acme/tokens",
        source="command",
        set_by="alice",
        now=START - timedelta(days=30),
    )
    await TrackedSecret.filter(name="NPM_TOKEN").update(acked_expiry=date(2026, 12, 1))

    response = await post(api, report(secrets=["NPM_TOKEN"], expires={"NPM_TOKEN": "2027-12-01"}))

    assert await answer(response) == (
        200,
        {
            "repo": "acme/web",
            "forge": "github",
            "recorded": ["NPM_TOKEN"],
            "unchanged": [],
            "tracked": ["NPM_TOKEN"],
        },
    )
    assert await tracked_rows() == [
        tracked_row(
            "NPM_TOKEN",
            date(2027, 12, 1),
            owner="@release-team",
            rotate_url="https://www.npmjs.com/settings/acme/tokens",
            created_at=START - timedelta(days=30),
        )
    ]


async def test_an_expiry_date_already_known_is_not_tracked_again(api: Client) -> None:
    registry = SecretRegistry()
    await registry.track(
        Forge.GITHUB,
        "acme/web",
        "NPM_TOKEN",
        expires_on=date(2027, 3, 31),
        owner="@release-team",
        rotate_url=None,
        source="command",
        set_by="alice",
        now=START - timedelta(days=1),
    )
    before = await tracked_rows()

    response = await post(api, report(secrets=["NPM_TOKEN"], expires={"NPM_TOKEN": "2027-03-31"}))

    assert (await answer(response))[1]["tracked"] == []
    assert await tracked_rows() == before


async def test_a_gitlab_project_reports_with_its_own_token(api: Client) -> None:
    body = report(
        forge="gitlab",
        repo="Platform/Infra/Deploy",
        secrets=["DEPLOY_KEY", "DEPLOY_KEY"],
        url="https://gitlab.example.com/platform/infra/deploy/-/pipelines/77",
        used_by="pipeline 77",
    )

    response = await post(api, body, token=GITLAB_TOKEN)

    assert await answer(response) == (
        200,
        {
            "repo": "platform/infra/deploy",
            "forge": "gitlab",
            "recorded": ["DEPLOY_KEY"],
            "unchanged": [],
            "tracked": [],
        },
    )
    assert await use_rows() == [
        use_row(
            "DEPLOY_KEY",
            forge="gitlab",
            repo="platform/infra/deploy",
            used_by="pipeline 77",
            url="https://gitlab.example.com/platform/infra/deploy/-/pipelines/77",
        )
    ]


# -- authentication ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "send the repository's usage token as 'Authorization: Bearer'"),
        (
            {"Authorization": WEB_TOKEN},
            "send the repository's usage token as 'Authorization: Bearer'",
        ),
        (
            {"Authorization": f"Token {WEB_TOKEN}"},
            "send the repository's usage token as 'Authorization: Bearer'",
        ),
        (
            {"Authorization": "Bearer "},
            "send the repository's usage token as 'Authorization: Bearer'",
        ),
        ({"Authorization": "Bearer not-the-token"}, "invalid token"),
        ({"Authorization": f"Bearer {WEB_TOKEN}x"}, "invalid token"),
        ({"Authorization": "Bearer usage-tökén"}, "invalid token"),
    ],
)
async def test_a_missing_or_wrong_token_gets_401_and_writes_nothing(
    api: Client, headers: dict[str, str], error: str
) -> None:
    response = await api.post("/api/usage", json=report(), headers=headers)

    assert await answer(response) == (401, {"error": error})
    assert response.headers["WWW-Authenticate"] == UNAUTHENTICATE
    assert await use_rows() == []


async def test_the_bearer_scheme_is_case_insensitive(api: Client) -> None:
    response = await api.post(
        "/api/usage", json=report(), headers={"Authorization": f"bearer {WEB_TOKEN}"}
    )
    assert response.status == 200


async def test_an_unauthenticated_request_is_refused_before_its_body_is_read(
    api: Client,
) -> None:
    response = await post(api, b"not json at all", token="wrong")

    assert await answer(response) == (401, {"error": "invalid token"})


async def test_another_repositorys_token_gets_403_and_writes_nothing(api: Client) -> None:
    response = await post(api, report(), token=API_TOKEN)

    assert await answer(response) == (
        403,
        {"error": "the token does not cover github repository acme/web"},
    )
    assert await use_rows() == []


async def test_a_repository_without_a_token_gets_401_even_with_another_repositorys_token(
    api: Client,
) -> None:
    github_name_on_gitlab = await post(api, report(forge="gitlab"), token=WEB_TOKEN)
    unknown_repo = await post(api, report(repo="acme/other"), token=WEB_TOKEN)

    assert await answer(github_name_on_gitlab) == (
        401,
        {"error": "no usage token is configured for gitlab repository acme/web"},
    )
    assert await answer(unknown_repo) == (
        401,
        {"error": "no usage token is configured for github repository acme/other"},
    )
    assert await use_rows() == []


async def test_with_no_tokens_configured_every_report_gets_401(
    database_url: str, clock: FakeClock
) -> None:
    async with running_app(database_url, (), clock) as client:
        response = await post(client, report())
        assert await answer(response) == (401, {"error": "invalid token"})
        assert await use_rows() == []


# -- size -------------------------------------------------------------------------------


async def test_a_body_over_the_cap_gets_413(api: Client) -> None:
    big = report(used_by="x" * 10, padding="y" * MAX_BODY_BYTES)

    response = await post(api, big)

    assert await answer(response) == (413, {"error": "the body is over 65536 bytes"})
    assert await use_rows() == []


async def test_a_chunked_body_over_the_cap_gets_413(api: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b" " * 1024

    response = await api.post(
        "/api/usage", data=chunks(), headers={"Authorization": f"Bearer {WEB_TOKEN}"}
    )

    assert await answer(response) == (413, {"error": "the body is over 65536 bytes"})


# -- the schema -------------------------------------------------------------------------

NAME_RULE = "expected a secret name of letters, digits and underscores (at most 255 characters)"
LINE_RULE = "expected one line of 1 to 255 characters"
URL_RULE = "expected an http or https URL of at most 1024 characters"
TIME_RULE = "expected an ISO 8601 time with a time zone, such as 2026-11-21T12:00:00Z"
DATE_RULE = "expected a date such as 2027-03-31"
VALUES_REFUSED = "secret values are never accepted; send names only"
FIELDS_LISTED = "unknown field; the fields are repo, forge, secrets, used_by, url, used_at, expires"
SECRETS_RULE = "expected a list of 1 to 100 secret names"


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        (b"{not json", None, "expected a JSON object"),
        (b"\xff\xfe", None, "expected a JSON object"),
        (b"[" * 10_000 + b"]" * 10_000, None, "expected a JSON object"),
        (["NPM_TOKEN"], None, "expected a JSON object"),
        (report(repo=None), "repo", "required"),
        (report(repo="acme"), "repo", "expected a repository such as acme/web"),
        (report(repo="acme/web/extra"), "repo", "expected a repository such as acme/web"),
        (report(repo="acme/we b"), "repo", "expected a repository such as acme/web"),
        (report(repo=["acme/web"]), "repo", "expected a repository such as acme/web"),
        (report(forge="bitbucket"), "forge", 'expected "github" or "gitlab"'),
        (
            report(forge="gitlab", repo="group"),
            "repo",
            "expected a repository such as group/sub/project",
        ),
        (report(secrets=None), "secrets", "required"),
        (report(secrets=[]), "secrets", SECRETS_RULE),
        (report(secrets="NPM_TOKEN"), "secrets", SECRETS_RULE),
        (report(secrets=[f"S{index}" for index in range(101)]), "secrets", SECRETS_RULE),
        (report(secrets=["NPM_TOKEN", "NPM-TOKEN"]), "secrets[1]", NAME_RULE),
        (report(secrets=["A" * 256]), "secrets[0]", NAME_RULE),
        (report(secrets=[""]), "secrets[0]", NAME_RULE),
        (report(secrets=[7]), "secrets[0]", NAME_RULE),
        (
            report(secrets=[{"name": "NPM_TOKEN", "value": "npm_sentinel"}]),
            "secrets[0]",
            "expected a name; secret values are never accepted",
        ),
        (report(used_by=None), "used_by", "required"),
        (report(used_by="   "), "used_by", LINE_RULE),
        (report(used_by="pipeline\n1234"), "used_by", LINE_RULE),
        (report(used_by="p" * 256), "used_by", LINE_RULE),
        (report(used_by=1234), "used_by", LINE_RULE),
        (report(url="ftp://example.com/run"), "url", URL_RULE),
        (report(url="not a url"), "url", URL_RULE),
        (report(url="https://example.com/" + "r" * 1024), "url", URL_RULE),
        (report(used_at="yesterday"), "used_at", TIME_RULE),
        (report(used_at="2026-11-21T11:30:00"), "used_at", TIME_RULE),
        (report(used_at=1700000000), "used_at", TIME_RULE),
        (report(used_at="2026-11-21T12:06:00Z"), "used_at", "is in the future"),
        (
            report(expires=["NPM_TOKEN=2027-03-31"]),
            "expires",
            'expected an object such as {"NPM_TOKEN": "2027-03-31"}',
        ),
        (report(expires={"NPM-TOKEN": "2027-03-31"}), "expires", "a key is not a secret name"),
        (
            report(expires={"OTHER_TOKEN": "2027-03-31"}),
            "expires.OTHER_TOKEN",
            'names a secret that is not in "secrets"',
        ),
        (report(expires={"NPM_TOKEN": "2027-02-30"}), "expires.NPM_TOKEN", DATE_RULE),
        (report(expires={"NPM_TOKEN": "20270331"}), "expires.NPM_TOKEN", DATE_RULE),
        (report(expires={"NPM_TOKEN": None}), "expires.NPM_TOKEN", DATE_RULE),
        (report(colour="blue"), "colour", FIELDS_LISTED),
        (report(**{"what is this?": 1}), None, FIELDS_LISTED),
        (report(value="npm_sentinel"), "value", VALUES_REFUSED),
        (report(Token="npm_sentinel"), "Token", VALUES_REFUSED),
        (report(secret_value="npm_sentinel"), "secret_value", VALUES_REFUSED),
    ],
)
async def test_a_malformed_report_gets_400_naming_the_field_and_writes_nothing(
    api: Client, body: object, field: str | None, error: str
) -> None:
    response = await post(api, body)

    assert await answer(response) == (400, {"error": error, "field": field})
    assert (await use_rows(), await tracked_rows()) == ([], [])


async def test_values_and_tokens_are_never_echoed_or_logged(
    api: Client, caplog: pytest.LogCaptureFixture
) -> None:
    sentinel = "npm_SENTINEL_value_4f1c"
    caplog.set_level(logging.DEBUG)

    refused = await post(api, report(value=sentinel))
    in_a_list = await post(api, report(secrets=[{"name": "NPM_TOKEN", "value": sentinel}]))
    as_a_date = await post(api, report(expires={"NPM_TOKEN": sentinel}, secrets=["NPM_TOKEN"]))
    wrong_repo = await post(api, report(), token=API_TOKEN)
    accepted = await post(api, report(secrets=["NPM_TOKEN"]))

    texts = [await r.text() for r in (refused, in_a_list, as_a_date, wrong_repo, accepted)]
    assert [sentinel in text for text in texts] == [False] * 5
    usage_messages = [
        record.getMessage() for record in caplog.records if record.name == "chatops.secrets.usage"
    ]
    assert usage_messages == [
        f"refused a usage report: value: {VALUES_REFUSED}",
        "refused a usage report: secrets[0]: expected a name; secret values are never accepted",
        f"refused a usage report: expires.NPM_TOKEN: {DATE_RULE}",
        "refused a usage report for github repository acme/web: another repository's token",
        "usage reported for github repository acme/web by 'pipeline 1234': "
        "recorded NPM_TOKEN; unchanged none; tracked none",
    ]
    everything_logged = "\n".join(
        f"{record.getMessage()} {record.__dict__}" for record in caplog.records
    )
    assert [secret in everything_logged for secret in (sentinel, WEB_TOKEN, API_TOKEN)] == [
        False,
        False,
        False,
    ]
