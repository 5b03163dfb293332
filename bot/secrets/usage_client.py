"""``chatops report-usage``: the client CI runs to report secret usage to ``POST /api/usage``.

    chatops report-usage --url https://chatops.example.com --repo acme/web \\
        --secret NPM_TOKEN --secret PYPI_TOKEN --used-by "pipeline 1234" \\
        [--forge github] [--link URL] [--used-at ISO-8601] [--expires NPM_TOKEN=2027-03-31 ...] \\
        [--token-env CHATOPS_USAGE_TOKEN] [--timeout 10]

``--url`` is the bot's public URL (``/api/usage`` is appended unless it is already there).
The token is read from the environment variable named by ``--token-env`` (default
``CHATOPS_USAGE_TOKEN``), never from the command line, so it stays out of process lists and
CI logs. No configuration file or database is needed.

The report is checked here with the server's own rules (``bot.secrets.usage_report.parse_report``)
before anything is sent. A 5xx answer or a network error is retried, ``ATTEMPTS`` times in
all, after ``BACKOFF_SECONDS`` doubling each time (or the server's ``Retry-After``, at most
``MAX_RETRY_AFTER``); a 4xx answer is final. Redirects are not followed, so the token is
only ever sent to the URL given.

Output: one line. On success, on stdout::

    github acme/web: recorded 2 (NPM_TOKEN, PYPI_TOKEN), unchanged 0, expiry tracked 1 (NPM_TOKEN)

otherwise on stderr, prefixed ``chatops report-usage:``.

Exit codes: 0 reported (also when everything was already known); 2 a usage error (bad
arguments, no token in the environment); 1 refused by the server or failed after retries.

Invariants: the token is never printed; every loop is bounded by ``ATTEMPTS``; sleeping is
injected (tests pass a recorder), as is the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp
from yarl import URL

from bot.clock import Clock, SystemClock
from bot.secrets.usage_report import PATH, InvalidReport, parse_report

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
MAX_RETRY_AFTER = 30.0
DEFAULT_TOKEN_ENV = "CHATOPS_USAGE_TOKEN"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 300.0
PROGRAM = "chatops report-usage"

# where a field of the request comes from on the command line
_OPTION_OF = {
    "repo": "--repo",
    "forge": "--forge",
    "secrets": "--secret",
    "used_by": "--used-by",
    "url": "--link",
    "used_at": "--used-at",
    "expires": "--expires",
}

Sleep = Callable[[float], Awaitable[None]]


class UsageError(ValueError):
    """The command line cannot make a report (exit 2)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's final answer: its status and JSON body (None if it sent no JSON)."""

    status: int
    body: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Failure:
    """No final answer after every attempt: the last reason."""

    attempts: int
    reason: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``report-usage`` options."""
    parser.add_argument("--url", required=True, help="the bot's public URL")
    parser.add_argument(
        "--repo", required=True, help="the repository: owner/name, or group/sub/project on GitLab"
    )
    parser.add_argument("--forge", default="github", help="github (default) or gitlab")
    parser.add_argument(
        "--secret",
        dest="secrets",
        action="extend",
        nargs="+",
        required=True,
        metavar="NAME",
        help="a secret the pipeline used (repeatable)",
    )
    parser.add_argument("--used-by", required=True, help="the pipeline, such as 'pipeline 1234'")
    parser.add_argument("--link", help="a link to the pipeline run")
    parser.add_argument("--used-at", help="when it was used, ISO 8601 (default: now)")
    parser.add_argument(
        "--expires",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME=DATE",
        help="a secret's expiry date, YYYY-MM-DD (repeatable)",
    )
    parser.add_argument(
        "--token-env",
        default=DEFAULT_TOKEN_ENV,
        metavar="VARIABLE",
        help=f"the environment variable holding the token (default {DEFAULT_TOKEN_ENV})",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long one attempt may take (default {DEFAULT_TIMEOUT:g})",
    )


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and {MAX_TIMEOUT:g}")
    return seconds


def run(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """The command: report, print one line, return the exit code."""
    return asyncio.run(report_usage(args, environ, out, err))


async def report_usage(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    out: TextIO,
    err: TextIO,
    *,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """Build, check and send the report described by ``args``; print one line."""
    try:
        endpoint = endpoint_of(args.url)
        payload = build_payload(args, clock or SystemClock())
        token = token_from(environ, args.token_env)
    except UsageError as exc:
        print(f"{PROGRAM}: {exc}", file=err)
        return EXIT_USAGE
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        outcome = await send(session, endpoint, payload, token, sleep=sleep)
    if isinstance(outcome, Failure):
        print(f"{PROGRAM}: failed after {outcome.attempts} attempts: {outcome.reason}", file=err)
        return EXIT_FAILED
    if outcome.status == 200 and outcome.body is not None:
        print(describe(outcome.body), file=out)
        return EXIT_OK
    print(f"{PROGRAM}: refused ({outcome.status}): {refusal(outcome.body)}", file=err)
    return EXIT_FAILED


def endpoint_of(url: str) -> URL:
    """The usage endpoint under the bot's URL."""
    try:
        base = URL(url)
    except ValueError:
        raise UsageError("--url: expected the bot's http or https URL") from None
    if base.scheme not in ("http", "https") or not base.host:
        raise UsageError("--url: expected the bot's http or https URL")
    if base.path.rstrip("/").endswith(PATH):
        return base
    return base.with_path(base.path.rstrip("/") + PATH)


def build_payload(args: argparse.Namespace, clock: Clock) -> dict[str, Any]:
    """The request body, checked with the server's rules."""
    payload: dict[str, Any] = {
        "repo": args.repo,
        "forge": args.forge,
        "secrets": list(args.secrets),
        "used_by": args.used_by,
    }
    if args.link is not None:
        payload["url"] = args.link
    if args.used_at is not None:
        payload["used_at"] = args.used_at
    if args.expires:
        payload["expires"] = _expiry_dates(args.expires)
    try:
        parse_report(payload, clock.now())
    except InvalidReport as exc:
        raise UsageError(_option_error(exc)) from None
    return payload


def _expiry_dates(items: Sequence[str]) -> dict[str, str]:
    expires: dict[str, str] = {}
    for item in items:
        name, sign, when = item.partition("=")
        if not sign or not name or not when:
            raise UsageError("--expires: expected NAME=YYYY-MM-DD")
        if name in expires:
            raise UsageError(f"--expires: {name} is given twice")
        expires[name] = when
    return expires


def _option_error(exc: InvalidReport) -> str:
    if exc.field is None:
        return exc.reason
    head, _, rest = exc.field.partition(".")
    head = head.split("[", 1)[0]
    option = _OPTION_OF.get(head, exc.field)
    if head == "secrets" and exc.field != "secrets":
        index = int(exc.field[len("secrets[") : -1])
        return f"{option} (the {_ordinal(index + 1)}): {exc.reason}"
    return f"{option} {rest}: {exc.reason}" if rest else f"{option}: {exc.reason}"


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def token_from(environ: Mapping[str, str], variable: str) -> str:
    """The token, from the environment only."""
    token = environ.get(variable, "").strip()
    if not token:
        raise UsageError(f"set the repository's usage token in the environment variable {variable}")
    if any(character.isspace() for character in token):
        raise UsageError(f"the token in {variable} must not contain spaces")
    return token


async def send(
    session: aiohttp.ClientSession,
    endpoint: URL,
    payload: Mapping[str, Any],
    token: str,
    *,
    sleep: Sleep,
    attempts: int = ATTEMPTS,
) -> Answer | Failure:
    """POST the report; retry a 5xx or a network error, at most ``attempts`` times in all."""
    headers = {"Authorization": f"Bearer {token}"}
    reason = "not sent"
    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        try:
            async with session.post(
                endpoint, json=payload, headers=headers, allow_redirects=False
            ) as response:
                if response.status < 500:
                    return Answer(response.status, await _json_body(response))
                reason = f"HTTP {response.status}"
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = _network_reason(exc)
        if attempt < attempts:
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            await sleep(delay if retry_after is None else retry_after)
    return Failure(attempts, reason)


async def _json_body(response: aiohttp.ClientResponse) -> Mapping[str, Any] | None:
    try:
        body = json.loads(await response.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retry_after(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return type(exc).__name__


def describe(body: Mapping[str, Any]) -> str:
    """The success line, from the server's answer."""
    parts = [
        _counted("recorded", body.get("recorded")),
        _counted("unchanged", body.get("unchanged")),
        _counted("expiry tracked", body.get("tracked")),
    ]
    return f"{body.get('forge')} {body.get('repo')}: {', '.join(parts)}"


def _counted(label: str, names: object) -> str:
    listed = [str(name) for name in names] if isinstance(names, list) else []
    return f"{label} {len(listed)} ({', '.join(listed)})" if listed else f"{label} 0"


def refusal(body: Mapping[str, Any] | None) -> str:
    """The server's reason for a refusal, on one line."""
    if body is None:
        return "no JSON answer"
    error = " ".join(str(body.get("error", "no reason given")).split())
    field = body.get("field")
    return f"{field}: {error}" if isinstance(field, str) else error
