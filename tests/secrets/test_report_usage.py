"""``chatops report-usage``: the CI client against the real application and a flaky server."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.secrets.usage_client import add_arguments, report_usage
from tests.fakes.clock import FakeClock
from tests.secrets.test_usage_api import (
    START,
    TOKENS,
    WEB_TOKEN,
    Client,
    running_app,
    tracked_row,
    tracked_rows,
    use_row,
    use_rows,
)

ROOT = Path(__file__).resolve().parents[2]
ENV = {"CHATOPS_USAGE_TOKEN": WEB_TOKEN}
CLI_TIMEOUT = 60.0


def arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chatops report-usage")
    add_arguments(parser)
    return parser.parse_args(argv)


def standard(url: str, *extra: str) -> argparse.Namespace:
    return arguments(
        "--url",
        url,
        "--repo",
        "acme/web",
        "--secret",
        "NPM_TOKEN",
        "--secret",
        "PYPI_TOKEN",
        "--used-by",
        "pipeline 1234",
        "--link",
        "https://github.com/acme/web/actions/runs/1234",
        "--used-at",
        "2026-11-21T11:30:00Z",
        *extra,
    )


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    sleeps: list[float]


async def run(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    code = await report_usage(
        args, ENV if environ is None else environ, out, err, clock=FakeClock(START), sleep=sleep
    )
    return Outcome(code, out.getvalue(), err.getvalue(), sleeps)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Client]:
    async with running_app(database_url, TOKENS, FakeClock(START)) as client:
        yield client


def base_url(client: Client) -> str:
    return str(client.make_url("/"))


# -- against the real application -------------------------------------------------------


async def test_a_report_is_recorded_and_summed_up_in_one_line(bot: Client) -> None:
    outcome = await run(standard(base_url(bot), "--expires", "NPM_TOKEN=2027-03-31"))

    assert outcome == Outcome(
        0,
        "github acme/web: recorded 2 (NPM_TOKEN, PYPI_TOKEN), unchanged 0, "
        "expiry tracked 1 (NPM_TOKEN)\n",
        "",
        [],
    )
    assert await use_rows() == [use_row("NPM_TOKEN"), use_row("PYPI_TOKEN")]
    assert await tracked_rows() == [tracked_row("NPM_TOKEN", date(2027, 3, 31))]


async def test_reporting_again_is_fine_and_changes_nothing(bot: Client) -> None:
    await run(standard(base_url(bot)))
    before = await use_rows()

    outcome = await run(standard(str(bot.make_url("/api/usage"))))

    assert outcome == Outcome(
        0,
        "github acme/web: recorded 0, unchanged 2 (NPM_TOKEN, PYPI_TOKEN), expiry tracked 0\n",
        "",
        [],
    )
    assert await use_rows() == before


async def test_a_refusal_exits_1_with_the_servers_reason(bot: Client) -> None:
    wrong = await run(standard(base_url(bot)), {"CHATOPS_USAGE_TOKEN": "not-the-token"})
    other_env = await run(
        standard(base_url(bot), "--token-env", "WEB_USAGE"),
        {"WEB_USAGE": "usage-token-acme-api-9876543210"},
    )

    assert wrong == Outcome(1, "", "chatops report-usage: refused (401): invalid token\n", [])
    assert other_env == Outcome(
        1,
        "",
        "chatops report-usage: refused (403): the token does not cover github repository "
        "acme/web\n",
        [],
    )
    assert await use_rows() == []


async def test_the_command_needs_no_configuration_and_reads_the_token_from_the_environment(
    bot: Client, tmp_path: Path
) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")},
        "PYTHONPATH": str(ROOT),
        "CHATOPS_CONFIG": str(tmp_path / "missing.toml"),
        "CI_USAGE_TOKEN": WEB_TOKEN,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "report-usage",
        "--url",
        base_url(bot),
        "--repo",
        "acme/web",
        "--secret",
        "NPM_TOKEN",
        "--used-by",
        "pipeline 1234",
        "--token-env",
        "CI_USAGE_TOKEN",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)

    assert (process.returncode, stdout.decode(), stderr.decode()) == (
        0,
        "github acme/web: recorded 1 (NPM_TOKEN), unchanged 0, expiry tracked 0\n",
        "",
    )
    assert await use_rows() == [use_row("NPM_TOKEN", url=None, used_at=START)]


# -- usage errors: nothing is sent ------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "environ", "error"),
    [
        (
            (),
            {},
            "set the repository's usage token in the environment variable CHATOPS_USAGE_TOKEN",
        ),
        (
            (),
            {"CHATOPS_USAGE_TOKEN": "  \n"},
            ("set the repository's usage token in the environment variable CHATOPS_USAGE_TOKEN"),
        ),
        (
            (),
            {"CHATOPS_USAGE_TOKEN": "two words"},
            ("the token in CHATOPS_USAGE_TOKEN must not contain spaces"),
        ),
        (
            ("--secret", "NPM-TOKEN"),
            ENV,
            (
                "--secret (the 3rd): expected a secret name of letters, digits and underscores "
                "(at most 255 characters)"
            ),
        ),
        (("--expires", "NPM_TOKEN"), ENV, "--expires: expected NAME=YYYY-MM-DD"),
        (
            ("--expires", "NPM_TOKEN=2027-01-01", "NPM_TOKEN=2027-02-01"),
            ENV,
            ("--expires: NPM_TOKEN is given twice"),
        ),
        (
            ("--expires", "NPM_TOKEN=31.03.2027"),
            ENV,
            ("--expires NPM_TOKEN: expected a date such as 2027-03-31"),
        ),
        (
            ("--expires", "GH_TOKEN=2027-03-31"),
            ENV,
            ('--expires GH_TOKEN: names a secret that is not in "secrets"'),
        ),
        (("--forge", "bitbucket"), ENV, '--forge: expected "github" or "gitlab"'),
        (("--repo", "acme"), ENV, "--repo: expected a repository such as acme/web"),
        (
            ("--link", "ftp://x/y"),
            ENV,
            ("--link: expected an http or https URL of at most 1024 characters"),
        ),
        (
            ("--used-at", "2026-11-21"),
            ENV,
            ("--used-at: expected an ISO 8601 time with a time zone, such as 2026-11-21T12:00:00Z"),
        ),
        (("--url", "chatops.example.com"), ENV, "--url: expected the bot's http or https URL"),
    ],
)
async def test_a_usage_error_exits_2_and_sends_nothing(
    flaky: Flaky, extra: tuple[str, ...], environ: dict[str, str], error: str
) -> None:
    outcome = await run(standard(flaky.url, *extra), environ)

    assert outcome == Outcome(2, "", f"chatops report-usage: {error}\n", [])
    assert flaky.requests == []


# -- retries against a server that fails ------------------------------------------------


@dataclass
class Flaky:
    """A stand-in for the bot: answers from a script, records every request."""

    url: str = ""
    script: list[web.Response] = field(default_factory=list)
    requests: list[tuple[str, str | None, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            (request.path, request.headers.get("Authorization"), await request.json())
        )
        if not self.script:
            return web.json_response({"error": "script exhausted"}, status=418)
        return self.script.pop(0)


@pytest.fixture
async def flaky() -> AsyncIterator[Flaky]:
    fake = Flaky()
    app = web.Application()
    app.router.add_post("/{tail:.*}", fake.handle)
    async with TestServer(app, host="127.0.0.1", port=0) as server:
        fake.url = str(server.make_url("/bot/"))
        yield fake


SUCCESS = {
    "repo": "acme/web",
    "forge": "github",
    "recorded": ["NPM_TOKEN"],
    "unchanged": ["PYPI_TOKEN"],
    "tracked": [],
}
SENT = {
    "repo": "acme/web",
    "forge": "github",
    "secrets": ["NPM_TOKEN", "PYPI_TOKEN"],
    "used_by": "pipeline 1234",
    "url": "https://github.com/acme/web/actions/runs/1234",
    "used_at": "2026-11-21T11:30:00Z",
}
REQUEST = ("/bot/api/usage", f"Bearer {WEB_TOKEN}", SENT)


def unavailable(**headers: str) -> web.Response:
    return web.json_response({"error": "down"}, status=503, headers=headers)


async def test_two_503s_then_success_are_retried_with_backoff(flaky: Flaky) -> None:
    flaky.script = [unavailable(), unavailable(), web.json_response(SUCCESS)]

    outcome = await run(standard(flaky.url))

    assert outcome == Outcome(
        0,
        "github acme/web: recorded 1 (NPM_TOKEN), unchanged 1 (PYPI_TOKEN), expiry tracked 0\n",
        "",
        [1.0, 2.0],
    )
    assert flaky.requests == [REQUEST, REQUEST, REQUEST]


async def test_retries_are_bounded(flaky: Flaky) -> None:
    flaky.script = [unavailable(), unavailable(), unavailable(), web.json_response(SUCCESS)]

    outcome = await run(standard(flaky.url))

    assert outcome == Outcome(
        1, "", "chatops report-usage: failed after 3 attempts: HTTP 503\n", [1.0, 2.0]
    )
    assert flaky.requests == [REQUEST, REQUEST, REQUEST]


async def test_retry_after_is_honoured_up_to_a_ceiling(flaky: Flaky) -> None:
    flaky.script = [
        unavailable(**{"Retry-After": "5"}),
        unavailable(**{"Retry-After": "3600"}),
        web.json_response(SUCCESS),
    ]

    outcome = await run(standard(flaky.url))

    assert (outcome.code, outcome.sleeps) == (0, [5.0, 30.0])


async def test_a_4xx_is_not_retried(flaky: Flaky) -> None:
    flaky.script = [
        web.json_response({"error": "is in the future", "field": "used_at"}, status=400),
        web.json_response(SUCCESS),
    ]

    outcome = await run(standard(flaky.url))

    assert outcome == Outcome(
        1, "", "chatops report-usage: refused (400): used_at: is in the future\n", []
    )
    assert flaky.requests == [REQUEST]


async def test_a_redirect_is_not_followed(flaky: Flaky) -> None:
    flaky.script = [web.Response(status=307, headers={"Location": "https://elsewhere.example/"})]

    outcome = await run(standard(flaky.url))

    assert outcome == Outcome(1, "", "chatops report-usage: refused (307): no JSON answer\n", [])
    assert flaky.requests == [REQUEST]


async def test_an_unreachable_bot_is_retried_then_reported(flaky: Flaky) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # the port is free again: nothing listens on it

    outcome = await run(standard(f"http://127.0.0.1:{port}"))

    assert outcome == Outcome(
        1,
        "",
        f"chatops report-usage: failed after 3 attempts: cannot connect to 127.0.0.1:{port}\n",
        [1.0, 2.0],
    )


async def test_the_time_defaults_to_the_servers_now(flaky: Flaky) -> None:
    flaky.script = [web.json_response(SUCCESS)]
    args = arguments(
        "--url", flaky.url, "--repo", "Acme/Web", "--secret", "NPM_TOKEN", "--used-by", "job 9"
    )

    outcome = await run(args)

    assert outcome.code == 0
    assert flaky.requests == [
        (
            "/bot/api/usage",
            f"Bearer {WEB_TOKEN}",
            {"repo": "Acme/Web", "forge": "github", "secrets": ["NPM_TOKEN"], "used_by": "job 9"},
        )
    ]
