"""``POST /api/usage``: CI reports which secrets a pipeline used, and expiry dates it knows.

The forges say nothing about when a secret was last used or when it expires, so CI tells
the bot (``chatops report-usage`` is the client). A report records the last use of each
named secret (``SecretUses.record``, source ``api``) and, for the names given an expiry
date, tracks that date (``SecretRegistry.track``, source ``usage``).

Request::

    POST /api/usage
    Authorization: Bearer <the repository's usage token>
    Content-Type: application/json

    {
      "repo": "acme/web",                       required: "owner/name" or "group/sub/project"
      "forge": "github",                        optional: "github" (default) or "gitlab"
      "secrets": ["NPM_TOKEN", "PYPI_TOKEN"],   required: 1 to 100 names (letters, digits,
                                                underscore; at most 255 characters)
      "used_by": "pipeline 1234",               required: 1 to 255 characters, one line
      "url": "https://ci.example.com/1234",     optional: an http(s) link to the run
      "used_at": "2026-11-21T12:00:00Z",        optional: ISO 8601 with a time zone, not more
                                                than 5 minutes ahead; default: now
      "expires": {"NPM_TOKEN": "2027-03-31"}    optional: expiry dates (YYYY-MM-DD) of
                                                secrets named in "secrets"
    }

Answers (always JSON):

- 200 ``{"repo", "forge", "recorded", "unchanged", "tracked"}``: ``recorded`` names the
  secrets whose use was recorded, ``unchanged`` those for which the same or a later use was
  already known, ``tracked`` those whose expiry date was recorded (a date already known is
  not recorded again). Each list is sorted. Sending the same report twice changes nothing
  the second time: everything is ``unchanged`` and nothing is ``tracked``.
- 401 ``{"error"}``: no ``Authorization: Bearer`` token, a token that no repository has, or
  a repository with no usage token configured. Nothing is parsed or written.
- 403 ``{"error"}``: a valid token of another repository. Nothing is written.
- 413 ``{"error"}``: a body over ``MAX_BODY_BYTES`` (64 KiB).
- 400 ``{"error", "field"}``: a body that is not a JSON object, a missing or malformed field,
  an unknown field, or a field that looks like a secret value (``value``, ``token``, ...):
  values are never accepted. ``field`` is the path of the offending field
  (``secrets[2]``, ``expires.NPM_TOKEN``); ``null`` when the body as a whole is wrong.

Order of checks: the token is matched (in constant time, against every configured token)
before the body is read, so an unauthenticated caller learns nothing about the schema or
the configuration; then the size cap, the schema, and the token of the named repository.

Invariants: the token and the values of the body are never logged, stored or echoed; an
error names a field, never its content. Repository names are stored in lower case. An
expiry date from CI replaces the tracked one (CI knows the current token) but keeps its
owner and rotation link. Nothing here holds module state.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from aiohttp import web
from yarl import URL

from bot.clock import Clock
from bot.messages import Forge
from bot.secrets.settings import UsageToken
from bot.secrets.store import SecretRegistry, SecretUses

PATH = "/api/usage"
MAX_BODY_BYTES = 64 * 1024
MAX_SECRETS = 100
MAX_NAME_LENGTH = 255
MAX_TEXT_LENGTH = 255
MAX_URL_LENGTH = 1024
FUTURE_TOLERANCE = timedelta(minutes=5)
READ_CHUNK = 16 * 1024
SOURCE_USE = "api"
SOURCE_TRACK = "usage"

FIELDS = ("repo", "forge", "secrets", "used_by", "url", "used_at", "expires")
# fields a client might send a secret's value in; refused with a reason of their own
VALUE_FIELDS = frozenset(
    {"value", "values", "secret_value", "secret_values", "token", "password", "credential"}
)
SECRET_NAME = re.compile(rf"[A-Za-z0-9_]{{1,{MAX_NAME_LENGTH}}}")
_REPO_PART = r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"
REPOSITORY = re.compile(rf"{_REPO_PART}(?:/{_REPO_PART})+")
_FIELD_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BEARER = re.compile(r"Bearer +(\S+) *", re.IGNORECASE)


class InvalidReport(ValueError):
    """A report the schema refuses: ``field`` is where (None: the whole body), never what."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A validated report: names only, no values."""

    forge: Forge
    repo: str  # lower case
    secrets: tuple[str, ...]  # sorted, distinct
    used_by: str
    url: str | None
    used_at: datetime | None  # None: now
    expires: Mapping[str, date] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UsageResult:
    """What a report changed."""

    recorded: tuple[str, ...]
    unchanged: tuple[str, ...]
    tracked: tuple[str, ...]


def parse_report(payload: object, now: datetime) -> UsageReport:
    """The report in ``payload`` (decoded JSON); raises ``InvalidReport`` naming the field."""
    if not isinstance(payload, dict):
        raise InvalidReport(None, "expected a JSON object")
    for key in payload:
        if str(key).lower() in VALUE_FIELDS:
            raise InvalidReport(key, "secret values are never accepted; send names only")
        if key not in FIELDS:
            shown = key if _FIELD_NAME.fullmatch(key) else None
            raise InvalidReport(shown, f"unknown field; the fields are {', '.join(FIELDS)}")
    forge = _forge(payload.get("forge", Forge.GITHUB.value))
    repo = _repo(payload.get("repo"), forge)
    secrets = _secrets(payload.get("secrets"))
    return UsageReport(
        forge=forge,
        repo=repo,
        secrets=secrets,
        used_by=_text("used_by", payload.get("used_by")),
        url=_url(payload.get("url")),
        used_at=_used_at(payload.get("used_at"), now),
        expires=_expires(payload.get("expires"), secrets),
    )


def _forge(value: object) -> Forge:
    if not isinstance(value, str) or value not in {forge.value for forge in Forge}:
        choices = " or ".join(f'"{forge.value}"' for forge in Forge)
        raise InvalidReport("forge", f"expected {choices}")
    return Forge(value)


def _repo(value: object, forge: Forge) -> str:
    if value is None:
        raise InvalidReport("repo", "required")
    if (
        not isinstance(value, str)
        or len(value) > MAX_TEXT_LENGTH
        or REPOSITORY.fullmatch(value) is None
        or (forge is Forge.GITHUB and value.count("/") != 1)
    ):
        example = "acme/web" if forge is Forge.GITHUB else "group/sub/project"
        raise InvalidReport("repo", f"expected a repository such as {example}")
    return value.lower()


def _secrets(value: object) -> tuple[str, ...]:
    if value is None:
        raise InvalidReport("secrets", "required")
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SECRETS:
        raise InvalidReport("secrets", f"expected a list of 1 to {MAX_SECRETS} secret names")
    for index, name in enumerate(value):
        _name(f"secrets[{index}]", name)
    return tuple(sorted(set(value)))


def _name(where: str, value: object) -> str:
    if isinstance(value, dict):
        raise InvalidReport(where, "expected a name; secret values are never accepted")
    if not isinstance(value, str) or SECRET_NAME.fullmatch(value) is None:
        raise InvalidReport(
            where,
            f"expected a secret name of letters, digits and underscores "
            f"(at most {MAX_NAME_LENGTH} characters)",
        )
    return value


def _text(where: str, value: object) -> str:
    if value is None:
        raise InvalidReport(where, "required")
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_TEXT_LENGTH
        or _CONTROL.search(value)
    ):
        raise InvalidReport(where, f"expected one line of 1 to {MAX_TEXT_LENGTH} characters")
    return value.strip()


def _url(value: object) -> str | None:
    if value is None:
        return None
    reason = f"expected an http or https URL of at most {MAX_URL_LENGTH} characters"
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH or _CONTROL.search(value):
        raise InvalidReport("url", reason)
    try:
        parsed = URL(value)
    except ValueError:
        raise InvalidReport("url", reason) from None
    if parsed.scheme not in ("http", "https") or not parsed.host or " " in value:
        raise InvalidReport("url", reason)
    return value


def _used_at(value: object, now: datetime) -> datetime | None:
    if value is None:
        return None
    reason = "expected an ISO 8601 time with a time zone, such as 2026-11-21T12:00:00Z"
    if not isinstance(value, str):
        raise InvalidReport("used_at", reason)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidReport("used_at", reason) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidReport("used_at", reason)
    if parsed > now + FUTURE_TOLERANCE:
        raise InvalidReport("used_at", "is in the future")
    return parsed


def _expires(value: object, secrets: Sequence[str]) -> dict[str, date]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidReport("expires", 'expected an object such as {"NPM_TOKEN": "2027-03-31"}')
    expires: dict[str, date] = {}
    for name, when in value.items():
        if SECRET_NAME.fullmatch(name) is None:
            raise InvalidReport("expires", "a key is not a secret name")
        where = f"expires.{name}"
        if name not in secrets:
            raise InvalidReport(where, 'names a secret that is not in "secrets"')
        if not isinstance(when, str) or len(when) != len("2027-03-31"):
            raise InvalidReport(where, "expected a date such as 2027-03-31")
        try:
            expires[name] = date.fromisoformat(when)
        except ValueError:
            raise InvalidReport(where, "expected a date such as 2027-03-31") from None
    return expires


class UsageTokens:
    """The configured usage tokens; every comparison is constant-time."""

    def __init__(self, tokens: Sequence[UsageToken]) -> None:
        self._tokens = tuple(
            (Forge(entry.forge), entry.repo, entry.token.reveal().encode())
            for entry in tokens
            if entry.token is not None
        )

    def known(self, presented: bytes) -> bool:
        """Whether any repository has this token; compares against all of them."""
        matched = False
        for _forge, _repo, token in self._tokens:
            matched |= hmac.compare_digest(presented, token)
        return matched

    def configured(self, forge: Forge, repo: str) -> bytes | None:
        for entry_forge, entry_repo, token in self._tokens:
            if (entry_forge, entry_repo) == (forge, repo):
                return token
        return None


async def record_report(
    report: UsageReport,
    *,
    now: datetime,
    registry: SecretRegistry,
    uses: SecretUses,
) -> UsageResult:
    """Write the report to the store; repeating it changes nothing."""
    used_at = report.used_at or now
    recorded: list[str] = []
    unchanged: list[str] = []
    for name in report.secrets:
        wrote = await uses.record(
            report.forge,
            report.repo,
            name,
            used_by=report.used_by,
            url=report.url,
            used_at=used_at,
            source=SOURCE_USE,
        )
        (recorded if wrote else unchanged).append(name)
    tracked: list[str] = []
    for name, expires_on in sorted(report.expires.items()):
        known = await registry.get(report.forge, report.repo, name)
        if known is not None and known.expires_on == expires_on:
            continue
        await registry.track(
            report.forge,
            report.repo,
            name,
            expires_on=expires_on,
            owner=None if known is None else known.owner,
            rotate_url=None if known is None else known.rotate_url,
            source=SOURCE_TRACK,
            set_by=report.used_by,
            now=now,
        )
        tracked.append(name)
    return UsageResult(recorded=tuple(recorded), unchanged=tuple(unchanged), tracked=tuple(tracked))


@dataclass
class UsageApi:
    """The ``POST /api/usage`` handler: translate the request, check it, record, answer."""

    tokens: UsageTokens
    clock: Clock
    log: logging.Logger
    registry: SecretRegistry = field(default_factory=SecretRegistry)
    uses: SecretUses = field(default_factory=SecretUses)

    async def handle(self, request: web.Request) -> web.Response:
        presented = _bearer(request.headers.get("Authorization", ""))
        if presented is None:
            self.log.warning("refused a usage report: no bearer token")
            return _unauthorized("send the repository's usage token as 'Authorization: Bearer'")
        if not self.tokens.known(presented):
            self.log.warning("refused a usage report: unknown token")
            return _unauthorized("invalid token")
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes")
        body = await _read(request)
        if body is None:
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes")
        now = self.clock.now()
        try:
            report = parse_report(_decode(body), now)
        except InvalidReport as exc:
            self.log.warning("refused a usage report: %s", exc)
            return web.json_response({"error": exc.reason, "field": exc.field}, status=400)
        expected = self.tokens.configured(report.forge, report.repo)
        where = f"{report.forge.value} repository {report.repo}"
        if expected is None:
            self.log.warning("refused a usage report for %s: no usage token configured", where)
            return _unauthorized(f"no usage token is configured for {where}")
        if not hmac.compare_digest(presented, expected):
            self.log.warning("refused a usage report for %s: another repository's token", where)
            return _error(403, f"the token does not cover {where}")
        result = await record_report(report, now=now, registry=self.registry, uses=self.uses)
        self.log.info(
            "usage reported for %s by %r: recorded %s; unchanged %s; tracked %s",
            where,
            report.used_by,
            _names(result.recorded),
            _names(result.unchanged),
            _names(result.tracked),
        )
        return web.json_response(
            {
                "repo": report.repo,
                "forge": report.forge.value,
                "recorded": list(result.recorded),
                "unchanged": list(result.unchanged),
                "tracked": list(result.tracked),
            }
        )


def _bearer(header: str) -> bytes | None:
    match = _BEARER.fullmatch(header)
    return None if match is None else match.group(1).encode()


def _decode(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidReport(None, "expected a JSON object") from None


async def _read(request: web.Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(READ_CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) or "none"


def _unauthorized(message: str) -> web.Response:
    return web.json_response(
        {"error": message},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="chatops usage"'},
    )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def build_usage_api(tokens: Sequence[UsageToken], clock: Clock, log: logging.Logger) -> UsageApi:
    """The endpoint for the configured tokens (``[[secrets.usage_tokens]]``)."""
    return UsageApi(tokens=UsageTokens(tokens), clock=clock, log=log)
