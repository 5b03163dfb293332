"""Benchmark: ``secrets audit`` over 1,000 secrets and 200 workflow files.

Three measurements, each the median of ``--rounds`` runs (bounded):

- ``parse``: ``find_references`` over 200 generated workflow files (each with 3 jobs, a
  reusable-workflow call with ``secrets: inherit`` in every tenth, 5 references per job);
- ``classify``: ``audit`` over 1,000 secrets in four scopes, the references above, 600
  tracked entries (200 with an expiry date), 334 reported uses and 200 latest runs;
- ``fake GitHub`` (``--with-fake``, on by default): ``gather_facts`` + ``audit`` through the
  real ``GitHubForge`` against the fake GitHub on 127.0.0.1 (secrets, environments,
  organization secrets, 200 file reads and the runs list), with the store left empty.

Run: ``.venv/bin/python -m benchmarks.secrets_audit [--rounds 5] [--no-fake]``. Pure CPU
for the first two; the third includes real HTTP on loopback. No network beyond loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from bot.config import BotSettings, Secret
from bot.config.platforms import GitHubSettings
from bot.forge import CheckState, CiFile, CiRun, CiSecret, SecretScope
from bot.messages import Forge
from bot.secrets.audit import AuditFacts, audit
from bot.secrets.inventory import SecretStores, gather_facts
from bot.secrets.references import find_references
from bot.secrets.store import SecretRegistry, SecretUses, Tracked, Use

SECRETS = 1000
FILES = 200
REPO = "acme/bench"
TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
SCOPES = (
    SecretScope.REPOSITORY,
    SecretScope.ENVIRONMENT,
    SecretScope.ORGANIZATION,
    SecretScope.DEPENDABOT,
)


def secret_name(index: int) -> str:
    return f"SECRET_{index:04d}"


def workflow(index: int) -> str:
    """A workflow whose jobs reference 5 secrets each (some shared, some undefined)."""
    jobs = []
    for job in range(3):
        names = [secret_name((index * 15 + job * 5 + k) % (SECRETS + 50)) for k in range(5)]
        steps = "\n".join(f"      - run: echo ${{{{ secrets.{name} }}}}" for name in names)
        jobs.append(f"  job{job}:\n    runs-on: ubuntu-latest\n    steps:\n{steps}")
    if index % 10 == 0 and index + 1 < FILES:
        jobs.append(
            f"  call:\n    uses: ./.github/workflows/w{index + 1:03d}.yml\n    secrets: inherit"
        )
    return "name: W\non: [push]\njobs:\n" + "\n".join(jobs) + "\n"


def files() -> list[CiFile]:
    return [
        CiFile(f".github/workflows/w{index:03d}.yml", workflow(index)) for index in range(FILES)
    ]


def facts_for(ci_files: list[CiFile]) -> AuditFacts:
    secrets = [
        CiSecret(
            name=secret_name(index),
            scope=SCOPES[index % 4],
            scope_name="production" if index % 4 == 1 else REPO,
            created_at=NOW - timedelta(days=index % 200),
            updated_at=NOW - timedelta(days=index % 200),
        )
        for index in range(SECRETS)
    ]
    tracked = [
        Tracked(
            id=index,
            forge=Forge.GITHUB,
            repo=REPO,
            name=secret_name(index),
            expires_on=TODAY + timedelta(days=index % 120 - 10),
            owner=None,
            rotate_url=None,
            source="command",
            set_by="bench",
            updated_at=NOW,
        )
        for index in range(0, SECRETS, 5)
    ] + [
        Tracked(
            id=SECRETS + index,
            forge=Forge.GITHUB,
            repo=REPO,
            name=secret_name(index),
            expires_on=None,
            owner=None,
            rotate_url=None,
            source="command",
            set_by="bench",
            updated_at=NOW,
        )
        for index in range(1, SECRETS, 2)
        if index % 5
    ][:400]
    uses = {
        secret_name(index): Use(
            Forge.GITHUB,
            REPO,
            secret_name(index),
            "bench",
            None,
            NOW - timedelta(hours=index),
            "api",
        )
        for index in range(0, SECRETS, 3)
    }
    runs = {
        ci_file.path: CiRun(
            id=str(index),
            name="W",
            state=CheckState.COMPLETED,
            conclusion="success",
            url=f"https://github.com/{REPO}/actions/runs/{index}",
            head_sha="a" * 40,
            actor="bench",
            event="push",
            started_at=NOW - timedelta(minutes=index),
            finished_at=NOW,
        )
        for index, ci_file in enumerate(ci_files)
    }
    return AuditFacts(
        repo=REPO,
        secrets=tuple(secrets),
        references=find_references(ci_files),
        tracked=tuple(tracked),
        uses=uses,
        latest_runs=runs,
    )


def median_ms(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def through_fake(rounds: int, directory: str) -> tuple[float, int]:
    """Median ms of gather + audit through the fake GitHub, and the rows of the last one."""
    from bot.store.database import open_database
    from connectors.github.forge import GitHubForge
    from connectors.github.integration import open_github
    from tests.fakes.clock import FakeClock
    from tests.fakes.github import FakeGitHub

    clock = FakeClock(NOW)
    times: list[float] = []
    rows = 0
    database = await open_database(f"sqlite://{directory}/bench.sqlite3", require_migrated=False)
    await database.migrate()
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token("ghp_bench")
        github.add_repo(REPO)
        for index in range(SECRETS):
            name, scope = secret_name(index), SCOPES[index % 4]
            if scope is SecretScope.REPOSITORY:
                github.secrets.add_repo_secret(REPO, name)
            elif scope is SecretScope.ENVIRONMENT:
                github.secrets.add_environment_secret(REPO, "production", name)
            elif scope is SecretScope.ORGANIZATION:
                github.secrets.add_org_secret("acme", name)
            else:
                github.secrets.add_dependabot_secret(REPO, name)
        for ci_file in files():
            github.secrets.add_file(REPO, ci_file.path, ci_file.text)
            github.add_workflow_run(
                REPO, github.add_workflow(REPO, "W", ci_file.path), "a" * 40, "main"
            )
        settings = GitHubSettings(
            enabled=True, api_url=github.url, token=Secret("env:GITHUB_TOKEN", "ghp_bench")
        )
        async with open_github(settings, BotSettings(), clock) as access:
            forge = GitHubForge(access.client, clock)
            stores = SecretStores(SecretRegistry(), SecretUses())
            for _ in range(rounds):
                start = time.perf_counter()
                facts = await gather_facts(forge, REPO, stores)
                rows = len(audit(facts, TODAY, stale_after_days=90, expiring_within_days=30))
                times.append((time.perf_counter() - start) * 1000)
        assert github.violations == [], github.violations
    await database.close()
    return statistics.median(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, choices=range(1, 51), metavar="1..50")
    parser.add_argument("--no-fake", action="store_true", help="skip the fake GitHub run")
    options = parser.parse_args()
    ci_files = files()
    facts = facts_for(ci_files)
    parse = median_ms(options.rounds, lambda: find_references(ci_files))
    classify = median_ms(
        options.rounds,
        lambda: audit(facts, TODAY, stale_after_days=90, expiring_within_days=30),
    )
    rows = audit(facts, TODAY, stale_after_days=90, expiring_within_days=30)
    print(f"references: {len(facts.references.references)} in {FILES} files")
    print(f"parse 200 workflow files: median {parse:.1f} ms")
    print(f"classify {SECRETS} secrets ({len(rows)} rows): median {classify:.1f} ms")
    if not options.no_fake:
        with tempfile.TemporaryDirectory() as directory:
            fake, fake_rows = asyncio.run(through_fake(options.rounds, directory))
        print(f"gather + audit through the fake GitHub ({fake_rows} rows): median {fake:.0f} ms")


if __name__ == "__main__":
    main()
