"""``chatops doctor`` for GitHub App mode, against the fake GitHub: the whole report when the
App is installed, when it is installed nowhere, and when its key or id is not the App's.
The App's JWT is made by the bot's own code from the key file the configuration names."""

from __future__ import annotations

from pathlib import Path

from bot.clock import SystemClock
from bot.config import Config, load_config
from bot.doctor import diagnose, failed, render
from connectors.doctor import platform_checks, webhook_platforms
from tests.core.test_doctor import bot_web
from tests.fakes.github import FakeGitHub
from tests.github_stack import app_key, migrate

APP_ID = 4242


def app_config(tmp_path: Path, github: FakeGitHub, private_key: str, public_url: str) -> Config:
    (tmp_path / "github-app.pem").write_text(private_key, encoding="utf-8")
    path = tmp_path / "chatops.toml"
    path.write_text(
        f"""
[bot]
public_url = "{public_url}"

[database]
url = "sqlite://{tmp_path / "chatops.sqlite3"}"

[github]
enabled = true
api_url = "{github.url}"
app_id = {APP_ID}
private_key = "file:github-app.pem"
webhook_secrets = ["env:GITHUB_WEBHOOK_SECRET"]
""",
        encoding="utf-8",
    )
    return load_config(path, {"GITHUB_WEBHOOK_SECRET": "hook secret"})


async def report(config: Config) -> tuple[str, bool]:
    findings = await diagnose(
        config,
        platform_checks(config, SystemClock()),
        webhook_platforms=webhook_platforms(config),
        request_timeout=5.0,
    )
    return render(findings, [s.reveal() for s in config.config_secrets()]), failed(findings)


def framed(config: Config, public_url: str, *github_lines: str, last: str) -> str:
    return (
        f"ok    config      {config.source}\n"
        "ok    database    sqlite: migrations applied\n"
        + "".join(line + "\n" for line in github_lines)
        + f"note  public url  {public_url} is this machine only: GitHub cannot post to it; "
        "set bot.public_url to your reverse proxy's or tunnel's address (deploy/README.md)\n"
        f"ok    public url  {public_url}/healthz answers\n" + last + "\n"
    )


async def test_an_installed_app_passes_and_names_its_accounts(tmp_path: Path) -> None:
    private, public = app_key()
    await migrate(f"sqlite://{tmp_path / 'chatops.sqlite3'}")
    async with (
        FakeGitHub(app_id=APP_ID, app_public_key=public, app_slug="shipit") as github,
        bot_web(f"sqlite://{tmp_path / 'chatops.sqlite3'}") as public_url,
    ):
        github.add_installation(11, "octo-org", ["web"])
        github.add_installation(12, "acme", ["api", "web"])
        config = app_config(tmp_path, github, private, public_url)
        text, problems = await report(config)
        auth = [(c.operation_id, c.auth_scheme, c.status) for c in github.calls]

    assert text == framed(
        config,
        public_url,
        f"ok    github      App shipit (id {APP_ID}), installed on acme, octo-org",
        last="all checks passed",
    )
    assert problems is False
    assert auth == [
        ("apps/get-authenticated", "bearer", 200),
        ("apps/list-installations", "bearer", 200),
    ]
    assert github.violations == []


async def test_an_app_installed_nowhere_is_a_problem_to_fix(tmp_path: Path) -> None:
    private, public = app_key()
    await migrate(f"sqlite://{tmp_path / 'chatops.sqlite3'}")
    async with (
        FakeGitHub(app_id=APP_ID, app_public_key=public, app_slug="shipit") as github,
        bot_web(f"sqlite://{tmp_path / 'chatops.sqlite3'}") as public_url,
    ):
        config = app_config(tmp_path, github, private, public_url)
        text, problems = await report(config)

    assert text == framed(
        config,
        public_url,
        f"ok    github      App shipit (id {APP_ID})",
        "FAIL  github      the App is installed nowhere: install it on your repositories",
        last="1 problem(s): fix them, then run `chatops doctor` again",
    )
    assert problems is True


async def test_a_key_that_is_not_the_apps_says_what_to_check(tmp_path: Path) -> None:
    _, public = app_key()
    other_private, _ = app_key()
    await migrate(f"sqlite://{tmp_path / 'chatops.sqlite3'}")
    async with (
        FakeGitHub(app_id=APP_ID, app_public_key=public, app_slug="shipit") as github,
        bot_web(f"sqlite://{tmp_path / 'chatops.sqlite3'}") as public_url,
    ):
        config = app_config(tmp_path, github, other_private, public_url)
        text, problems = await report(config)

    assert text == framed(
        config,
        public_url,
        "FAIL  github      GitHub answered 401 (A JSON web token could not be decoded): "
        "check github.app_id and github.private_key",
        last="1 problem(s): fix them, then run `chatops doctor` again",
    )
    assert problems is True
    assert other_private not in text
