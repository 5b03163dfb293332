"""``chatops doctor``: per item, ok or what to fix.

Checks, in order: the configuration (it loaded: the CLI gets that far only if it did), the
database (it opens; its migrations are applied), each enabled platform's credentials (an
API call that proves the token and says whose it is, through the same client library the
bot uses), and, when a platform posts webhooks to the bot, that ``bot.public_url`` is not a
loopback address (a note) and answers ``/healthz``.

The platform checks are passed in (``connectors.doctor`` lists them), so this module knows
no platform. Every check turns its own failure into a ``Finding``; none raises.

Invariant: nothing printed holds a secret's value; ``render`` redacts every configured
secret from each line, whatever an exception's text carried.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import aiohttp

from bot.config import Config
from bot.logs import SecretRedactor
from bot.store.database import DatabaseError, dialect_of, open_database

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


class Outcome(enum.Enum):
    OK = "ok"
    FAIL = "FAIL"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Finding:
    item: str
    outcome: Outcome
    detail: str


PlatformCheck = Callable[[aiohttp.ClientSession], Awaitable[list[Finding]]]


def ok(item: str, detail: str) -> Finding:
    return Finding(item, Outcome.OK, detail)


def fail(item: str, detail: str) -> Finding:
    return Finding(item, Outcome.FAIL, detail)


def note(item: str, detail: str) -> Finding:
    return Finding(item, Outcome.NOTE, detail)


async def diagnose(
    config: Config,
    platform_checks: Sequence[PlatformCheck],
    *,
    webhook_platforms: Sequence[str],
    request_timeout: float = 10.0,
) -> list[Finding]:
    """Every finding, in order. ``webhook_platforms`` names the enabled platforms that post
    to ``bot.public_url``."""
    findings = [ok("config", config.source or "built-in defaults (no file)")]
    findings.append(await check_database(config))
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=request_timeout)
    ) as session:
        if not platform_checks:
            findings.append(
                note("platforms", "none enabled: `chatops shell` only; enable one in the file")
            )
        for check in platform_checks:
            findings.extend(await check(session))
        if webhook_platforms:
            findings.extend(await check_public_url(config, webhook_platforms, session))
    return findings


async def check_database(config: Config) -> Finding:
    url = config.database.resolved_url()
    dialect = dialect_of(url)
    try:
        database = await open_database(url, require_migrated=False)
    except (DatabaseError, OSError, ImportError) as exc:
        return fail("database", f"{dialect}: cannot open it: {exc}")
    try:
        pending = await database.unapplied_migrations()
    finally:
        await database.close()
    if pending:
        return fail(
            "database", f"{dialect}: {len(pending)} migration(s) pending: run `chatops migrate`"
        )
    return ok("database", f"{dialect}: migrations applied")


async def check_public_url(
    config: Config, platforms: Sequence[str], session: aiohttp.ClientSession
) -> list[Finding]:
    """``/healthz`` at ``bot.public_url``, and a note when that URL is this machine only."""
    base = config.bot.public_url.rstrip("/")
    findings = []
    if (urlsplit(base).hostname or "") in LOOPBACK_HOSTS:
        findings.append(
            note(
                "public url",
                f"{base} is this machine only: {', '.join(platforms)} cannot post to it; "
                "set bot.public_url to your reverse proxy's or tunnel's address "
                "(deploy/README.md)",
            )
        )
    url = base + "/healthz"
    try:
        async with session.get(url) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        findings.append(
            fail(
                "public url",
                f"{url} does not answer ({type(exc).__name__}): is `chatops serve` running, "
                "and does the proxy or tunnel reach it?",
            )
        )
        return findings
    if status != HTTPStatus.OK:
        findings.append(fail("public url", f"{url} answered {status}, not 200: check the proxy"))
    else:
        findings.append(ok("public url", f"{url} answers"))
    return findings


def render(findings: Iterable[Finding], secrets: Iterable[str]) -> str:
    redactor = SecretRedactor(secrets)
    rows = list(findings)
    width = max((len(f.item) for f in rows), default=0)
    lines = [f"{f.outcome.value:<5} {f.item:<{width}}  {f.detail}" for f in rows]
    problems = sum(f.outcome is Outcome.FAIL for f in rows)
    if problems:
        lines.append(f"{problems} problem(s): fix them, then run `chatops doctor` again")
    else:
        lines.append("all checks passed")
    return "".join(redactor.redact(line) + "\n" for line in lines)


def failed(findings: Iterable[Finding]) -> bool:
    return any(f.outcome is Outcome.FAIL for f in findings)
