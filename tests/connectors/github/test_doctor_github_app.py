"""``chatops doctor`` for GitHub App mode, against the fake GitHub: the whole report when the
App is installed, when it is installed nowhere, when its key or id is not the App's, and
when it lacks permissions or events the commands need, an installation has not accepted
them, or its webhook posts elsewhere. The App's JWT is made by the bot's own code from the
key file the configuration names."""

from __future__ import annotations

from pathlib import Path

from bot.clock import SystemClock
from bot.config import Config, load_config
from bot.doctor import diagnose, failed, render
from connectors.doctor import platform_checks, webhook_platforms
from connectors.github.app_manifest import app_events, app_permissions
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


def framed(config: Config, public_url: str, *github_lines: str, last: str, width: int = 14) -> str:
    """The whole report around ``github_lines``; items are padded to ``width`` (the longest
    item's, "github webhook" when the webhook was read)."""
    config_, database, public = (
        f"{item:<{width}}" for item in ("config", "database", "public url")
    )
    return (
        f"ok    {config_}  {config.source}\n"
        f"ok    {database}  sqlite: migrations applied\n"
        + "".join(line + "\n" for line in github_lines)
        + f"note  {public}  {public_url} is this machine only: GitHub cannot post to it; set "
        "bot.public_url to your reverse proxy's or tunnel's address (deploy/README.md)\n"
        f"ok    {public}  {public_url}/healthz answers\n" + last + "\n"
    )


def set_up_as_documented(github: FakeGitHub, public_url: str) -> None:
    """The App granted what the README lists, its webhook at the bot's public URL."""
    github.set_app(permissions=app_permissions(), events=app_events())
    github.set_app_webhook(f"{public_url}/webhooks/github", secret="hook secret")


APP_OK = (
    "ok    github app      granted every permission and event the commands need "
    "(README, Permissions)"
)


async def test_an_installed_app_passes_and_names_its_accounts(tmp_path: Path) -> None:
    private, public = app_key()
    await migrate(f"sqlite://{tmp_path / 'chatops.sqlite3'}")
    async with (
        FakeGitHub(app_id=APP_ID, app_public_key=public, app_slug="shipit") as github,
        bot_web(f"sqlite://{tmp_path / 'chatops.sqlite3'}") as public_url,
    ):
        set_up_as_documented(github, public_url)
        github.add_installation(11, "octo-org", ["web"])
        github.add_installation(12, "acme", ["api", "web"])
        config = app_config(tmp_path, github, private, public_url)
        text, problems = await report(config)
        auth = [(c.operation_id, c.auth_scheme, c.status) for c in github.calls]

    assert text == framed(
        config,
        public_url,
        f"ok    github          App shipit (id {APP_ID}), installed on acme, octo-org",
        APP_OK,
        f"ok    github webhook  the App's webhook posts to {public_url}/webhooks/github",
        last="all checks passed",
    )
    assert problems is False
    assert auth == [
        ("apps/get-authenticated", "bearer", 200),
        ("apps/list-installations", "bearer", 200),
        ("apps/get-webhook-config-for-app", "bearer", 200),
    ]
    assert github.violations == []


async def test_an_app_installed_nowhere_is_a_problem_to_fix(tmp_path: Path) -> None:
    private, public = app_key()
    await migrate(f"sqlite://{tmp_path / 'chatops.sqlite3'}")
    async with (
        FakeGitHub(app_id=APP_ID, app_public_key=public, app_slug="shipit") as github,
        bot_web(f"sqlite://{tmp_path / 'chatops.sqlite3'}") as public_url,
    ):
        set_up_as_documented(github, public_url)
        config = app_config(tmp_path, github, private, public_url)
        text, problems = await report(config)

    assert text == framed(
        config,
        public_url,
        f"ok    github          App shipit (id {APP_ID})",
        "FAIL  github          the App is installed nowhere: install it on your repositories",
        APP_OK,
        f"ok    github webhook  the App's webhook posts to {public_url}/webhooks/github",
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
        width=10,
    )
    assert problems is True
    assert other_private not in text


async def test_missing_permissions_events_acceptances_and_a_wrong_hook_say_what_to_fix(
    tmp_path: Path,
) -> None:
    private, public = app_key()
    await migrate(f"sqlite://{tmp_path / 'chatops.sqlite3'}")
    async with (
        FakeGitHub(app_id=APP_ID, app_public_key=public, app_slug="shipit") as github,
        bot_web(f"sqlite://{tmp_path / 'chatops.sqlite3'}") as public_url,
    ):
        # made before the secrets commands: no secrets permissions, Actions read only, and
        # not subscribed to check suites
        granted = {
            key: level
            for key, level in app_permissions().items()
            if "secrets" not in key and key != "environments"
        }
        github.set_app(
            permissions={**granted, "actions": "read"},
            events=[e for e in app_events() if e != "check_suite"],
        )
        github.add_installation(11, "octo-org", ["web"])
        # installed earlier still, and the owner has not accepted Contents and Statuses
        accepted = {k: v for k, v in granted.items() if k not in ("contents", "statuses")}
        github.add_installation(12, "acme", ["web"], permissions=accepted)
        github.set_app_webhook("https://old.example.com/webhooks/github", content_type="form")
        config = app_config(tmp_path, github, private, public_url)
        text, problems = await report(config)
        violations = github.violations

    grant = (
        "grant it in the App's settings (Permissions & events), then accept it on each installation"
    )
    secrets = "secrets (`secrets audit`, `secrets usage`)"
    assert text == framed(
        config,
        public_url,
        f"ok    github          App shipit (id {APP_ID}), installed on acme, octo-org",
        "FAIL  github app      permission Actions: read, needs read and write for CI, write "
        f"(`rescan`, `restart`, `update`): {grant}",
        f"FAIL  github app      permission Dependabot secrets: not granted, needs read for "
        f"{secrets}: {grant}",
        f"FAIL  github app      permission Environments: not granted, needs read for {secrets}: "
        f"{grant}",
        "FAIL  github app      permission Secrets (organization): not granted, needs read for "
        f"secrets, organisation (organisation secrets in `secrets audit`): {grant}",
        f"FAIL  github app      permission Secrets: not granted, needs read for {secrets}: {grant}",
        "FAIL  github app      event Check suite: not subscribed, needed for CI, write "
        '(`rescan`, `restart`, `update`): tick it under "Subscribe to events" in the App\'s '
        "settings (Permissions & events)",
        "FAIL  github app      the installation on acme has not accepted Contents: read, Commit "
        "statuses: read: an owner of acme accepts the App's request under Settings > GitHub Apps",
        "FAIL  github webhook  the App's webhook posts to https://old.example.com/webhooks/github, "
        f"not {public_url}/webhooks/github: set the Webhook URL in the App's settings (or "
        "bot.public_url, if that address is the right one)",
        last="8 problem(s): fix them, then run `chatops doctor` again",
    )
    assert problems is True
    assert violations == []
