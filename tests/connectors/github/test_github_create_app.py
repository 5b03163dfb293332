"""``chatops github create-app`` end to end against the fake GitHub: the local page, a
browser (an aiohttp client following the form and GitHub's redirect), the code exchange
through gidgethub, the files, the whole report, the whole manifest; and the printed
configuration loads and passes the doctor's App check."""

from __future__ import annotations

import asyncio
import io
import os
import re
import stat
import sys
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from bot.clock import SystemClock
from bot.config import Config, load_config
from connectors.doctor import check_github
from connectors.github.app_manifest import permissions_table
from connectors.github.create_app import (
    CreateAppError,
    CreateAppOptions,
    CreatedApp,
    describe,
    register_app,
    web_url,
)
from tests.fakes.github import FakeGitHub

ROOT = Path(__file__).resolve().parents[3]
PUBLIC_URL = "https://bot.example.com"


class FormReader(HTMLParser):
    """The first form of a page: its method, action and inputs, as a browser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.method = self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {key: value or "" for key, value in attrs}
        if tag == "form" and not self.action:
            self.method, self.action = named.get("method", "get"), named.get("action", "")
        if tag == "input" and "name" in named:
            self.fields[named["name"]] = named.get("value", "")


async def browse(url: str) -> tuple[int, str, str]:
    """Open the page, submit its form, follow the redirects: (status, final URL, text)."""
    async with aiohttp.ClientSession() as browser:
        async with browser.get(url) as response:
            page = await response.text()
        form = FormReader()
        form.feed(page)
        assert form.method == "post"
        async with browser.post(form.action, data=form.fields) as response:
            return response.status, str(response.url.with_query(None)), await response.text()


def config_for(github: FakeGitHub, **extra: str) -> Config:
    return load_config(
        None,
        {
            "CHATOPS__BOT__NAME": "shipit",
            "CHATOPS__BOT__PUBLIC_URL": PUBLIC_URL,
            "CHATOPS__GITHUB__API_URL": github.url,
            **extra,
        },
    )


async def run_flow(
    github: FakeGitHub, config: Config, options: CreateAppOptions
) -> tuple[CreatedApp, str, str, tuple[int, str, str]]:
    """The flow with a browser: (the App, the report, the local URL, what the browser saw)."""
    out = io.StringIO()
    browsers: list[asyncio.Task[tuple[int, str, str]]] = []
    local: list[str] = []

    def ready(url: str) -> None:
        local.append(url)
        browsers.append(asyncio.create_task(browse(url)))

    async with aiohttp.ClientSession() as session:
        app = await register_app(config, options, session, out, ready=ready)
    describe(app, config, out)
    (seen,) = await asyncio.gather(*browsers)
    return app, out.getvalue(), local[0], seen


async def test_create_app_for_an_organization_end_to_end(tmp_path: Path) -> None:
    out_dir = tmp_path / "keys"
    async with FakeGitHub() as github:
        config = config_for(github)
        app, report, local, seen = await run_flow(
            github, config, CreateAppOptions(out_dir=out_dir, org="acme", timeout=30)
        )
        (conversion,) = github.conversions
        (submitted,) = github.manifest_flow.submitted

        key, secret = out_dir / "github-app.pem", out_dir / "github-webhook-secret"
        assert report == (
            f"Open {local} in a browser signed in to GitHub: it sends the App's manifest to "
            "GitHub, where you name the App and create it. Waiting up to 30 s ...\n"
            "created the GitHub App shipit (id 1001) owned by acme: "
            "https://github.com/apps/shipit\n"
            f"wrote {key} (the private key), readable by you only\n"
            f"wrote {secret} (the webhook secret), readable by you only\n"
            "\n"
            "Add to the configuration:\n"
            "\n"
            "[github]\n"
            "enabled = true\n"
            f'api_url = "{github.url}"\n'
            "app_id = 1001\n"
            f'private_key = "file:{key}"\n'
            f'webhook_secrets = ["file:{secret}"]\n'
            "\n"
            "Next:\n"
            "  1. install the App on your repositories: "
            "https://github.com/apps/shipit/installations/new\n"
            "  2. chatops doctor   checks the App's key and where it is installed\n"
            "  3. chatops serve    where GitHub reaches the App's webhook, "
            f"{PUBLIC_URL}/webhooks/github\n"
        )
        assert submitted.manifest == {
            "name": "shipit",
            "url": PUBLIC_URL,
            "description": "Chat-ops for pull requests: CI status, re-runs and secrets checks, "
            "from comments, Slack and Discord.",
            "hook_attributes": {"url": f"{PUBLIC_URL}/webhooks/github", "active": True},
            "redirect_url": local + "callback",
            "public": False,
            "default_permissions": {
                "actions": "write",
                "checks": "read",
                "contents": "read",
                "dependabot_secrets": "read",
                "environments": "read",
                "issues": "write",
                "metadata": "read",
                "organization_secrets": "read",
                "pull_requests": "write",
                "secrets": "read",
                "statuses": "read",
            },
            "default_events": [
                "issue_comment",
                "pull_request_review_comment",
                "workflow_run",
                "check_suite",
            ],
        }
        assert (submitted.owner, submitted.org) == ("acme", "acme")
        assert seen == (
            200,
            local + "callback",
            '<!doctype html>\n<meta charset="utf-8">\n'
            "<p>GitHub created the App: the terminal says what to do next.</p>\n",
        )
        assert key.read_text(encoding="utf-8") == conversion["pem"]  # it ends with a newline
        assert secret.read_text(encoding="utf-8") == conversion["webhook_secret"] + "\n"
        assert [stat.S_IMODE(p.stat().st_mode) for p in (out_dir, key, secret)] == [
            0o700,
            0o600,
            0o600,
        ]
        assert app.app_id == 1001
        assert conversion["client_secret"] not in report
        assert github.violations == []

        # the printed configuration loads as written (beside the public URL the App was made
        # for), and the doctor finds the new App granted what it needs, its hook pointing here
        snippet = report.split("Add to the configuration:\n")[1].split("\nNext:")[0]
        (tmp_path / "chatops.toml").write_text(snippet, encoding="utf-8")
        loaded = load_config(tmp_path / "chatops.toml", {"CHATOPS__BOT__PUBLIC_URL": PUBLIC_URL})
        before = await doctor_lines(loaded)
        github.add_installation(7, "acme", ["web"])
        after = await doctor_lines(loaded)

    app_ok = (
        "ok github app granted every permission and event the commands need (README, Permissions)"
    )
    hook_ok = f"ok github webhook the App's webhook posts to {PUBLIC_URL}/webhooks/github"
    assert before == [
        "ok github App shipit (id 1001)",
        "FAIL github the App is installed nowhere: install it on your repositories",
        app_ok,
        hook_ok,
    ]
    assert after == ["ok github App shipit (id 1001), installed on acme", app_ok, hook_ok]


async def doctor_lines(config: Config) -> list[str]:
    async with aiohttp.ClientSession() as session:
        findings = await check_github(config, SystemClock(), session)
    return [f"{f.outcome.value} {f.item} {f.detail}" for f in findings]


async def test_a_personal_app_posts_to_the_users_page_and_a_foreign_callback_is_refused(
    tmp_path: Path,
) -> None:
    """A callback with another state is refused and the flow keeps waiting for its own."""
    async with FakeGitHub() as github:
        config = config_for(github)
        out = io.StringIO()
        refused: list[tuple[int, str]] = []
        browsers: list[asyncio.Task[tuple[int, str, str]]] = []

        async def forged_then_real(url: str) -> tuple[int, str, str]:
            async with (
                aiohttp.ClientSession() as browser,
                browser.get(url + "callback", params={"code": "stolen", "state": "x"}) as r,
            ):
                refused.append((r.status, await r.text()))
            return await browse(url)

        def ready(url: str) -> None:
            browsers.append(asyncio.create_task(forged_then_real(url)))

        async with aiohttp.ClientSession() as session:
            app = await register_app(
                config, CreateAppOptions(out_dir=tmp_path, timeout=30), session, out, ready=ready
            )
        await asyncio.gather(*browsers)
        (submitted,) = github.manifest_flow.submitted

    assert refused == [
        (
            400,
            '<!doctype html>\n<meta charset="utf-8">\n'
            "<p>This answer is not for the running chatops github create-app.</p>\n",
        )
    ]
    assert (submitted.org, submitted.owner, app.owner) == (None, "octo-admin", "octo-admin")
    assert github.violations == []


async def test_nothing_is_overwritten_and_the_wait_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "github-app.pem").write_text("mine\n", encoding="utf-8")
    async with FakeGitHub() as github, aiohttp.ClientSession() as session:
        config = config_for(github)
        out = io.StringIO()
        with pytest.raises(CreateAppError) as exists:
            await register_app(config, CreateAppOptions(out_dir=tmp_path), session, out)
        with pytest.raises(CreateAppError) as waited:
            await register_app(
                config, CreateAppOptions(out_dir=tmp_path / "new", timeout=0.2), session, out
            )

    assert str(exists.value) == (
        f"{tmp_path / 'github-app.pem'} exists: move it away or choose another --out"
    )
    assert str(waited.value) == "GitHub sent no code within 0.2 s: run it again"
    assert (tmp_path / "github-app.pem").read_text(encoding="utf-8") == "mine\n"
    assert not (tmp_path / "new").exists()
    assert [c.path for c in github.calls] == []


async def test_a_code_is_good_once() -> None:
    async with FakeGitHub() as github, aiohttp.ClientSession() as session:
        code = await fake_code(github, session)
        url = f"{github.url}/app-manifests/{code}/conversions"
        async with session.post(url) as first, session.post(url) as second:
            statuses = (first.status, second.status)

    assert statuses == (201, 404)
    assert github.violations == []


async def fake_code(github: FakeGitHub, session: aiohttp.ClientSession) -> str:
    manifest = '{"name": "x", "url": "https://x.example", "redirect_url": "https://x.example/cb"}'
    async with session.post(
        f"{github.url}/settings/apps/new",
        data={"manifest": manifest},
        allow_redirects=False,
    ) as response:
        location = response.headers["Location"]
    found = re.fullmatch(r"https://x\.example/cb\?code=([0-9a-f]+)", location)
    assert found is not None
    return found.group(1)


def test_github_web_pages_are_found_from_the_api_url() -> None:
    assert [
        web_url(url)
        for url in (
            "https://api.github.com",
            "https://ghe.example.com/api/v3",
            "http://127.0.0.1:8000/",
        )
    ] == ["https://github.com", "https://ghe.example.com", "http://127.0.0.1:8000"]


def test_the_readme_permission_table_is_the_one_the_manifest_is_made_from() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- github-permissions -->\n(.*?)<!-- /github-permissions -->", readme, re.S
    )
    assert block is not None
    assert block.group(1) == permissions_table()


async def test_the_command_line_runs_the_flow(tmp_path: Path) -> None:
    """``chatops github create-app`` as a real process: the page URL on its first line."""
    chatops = Path(sys.executable).parent / "chatops"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")}
    async with FakeGitHub() as github:
        env |= {"CHATOPS__GITHUB__API_URL": github.url, "CHATOPS__BOT__PUBLIC_URL": PUBLIC_URL}
        process = await asyncio.create_subprocess_exec(
            str(chatops),
            *("github", "create-app", "--out", str(tmp_path / "app")),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        found = re.match(r"Open (http://127\.0\.0\.1:\d+/) in a browser", first)
        assert found is not None, first
        seen = await browse(found.group(1))
        rest, err = await asyncio.wait_for(process.communicate(), 30)

    assert (process.returncode, err.decode(), seen[0]) == (0, "", 200)
    key, secret = tmp_path / "app" / "github-app.pem", tmp_path / "app" / "github-webhook-secret"
    assert first == (
        f"Open {found.group(1)} in a browser signed in to GitHub: it sends the App's manifest "
        "to GitHub, where you name the App and create it. Waiting up to 600 s ...\n"
    )
    assert rest.decode() == (
        "created the GitHub App chatops (id 1001) owned by octo-admin: "
        "https://github.com/apps/chatops\n"
        f"wrote {key} (the private key), readable by you only\n"
        f"wrote {secret} (the webhook secret), readable by you only\n"
        "\n"
        "Add to the configuration:\n"
        "\n"
        "[github]\n"
        "enabled = true\n"
        f'api_url = "{github.url}"\n'
        "app_id = 1001\n"
        f'private_key = "file:{key}"\n'
        f'webhook_secrets = ["file:{secret}"]\n'
        "\n"
        "Next:\n"
        "  1. install the App on your repositories: "
        "https://github.com/apps/chatops/installations/new\n"
        "  2. chatops doctor   checks the App's key and where it is installed\n"
        "  3. chatops serve    where GitHub reaches the App's webhook, "
        f"{PUBLIC_URL}/webhooks/github\n"
    )
    assert github.violations == []
