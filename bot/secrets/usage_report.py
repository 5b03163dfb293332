"""The usage report CI sends to ``POST /api/usage``: its schema, checked without I/O.

A report names the secrets a pipeline used and, optionally, expiry dates CI knows.
``parse_report`` turns decoded JSON into a ``UsageReport`` or raises ``InvalidReport``;
``read_report`` does the same from the raw body. The server (``bot.secrets.usage_api``)
and the client (``chatops report-usage``) check reports with these same rules.

Body::

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

Refused (``InvalidReport``): a body that is not a JSON object, a missing or malformed
field, an unknown field, or a field that looks like a secret value (``value``, ``token``,
...): values are never accepted. ``InvalidReport.field`` is the path of the offending
field (``secrets[2]``, ``expires.NPM_TOKEN``), ``None`` when the body as a whole is wrong.

Invariants: pure (the time is passed in); an error names a field, never its content, and
an unknown field's name only when it is a plain identifier; a ``UsageReport`` holds names
only, its repository in lower case and its secrets sorted and distinct. Nothing here holds
module state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from yarl import URL

from bot.messages import Forge

__all__ = [
    "FIELDS",
    "FUTURE_TOLERANCE",
    "MAX_NAME_LENGTH",
    "MAX_SECRETS",
    "MAX_TEXT_LENGTH",
    "MAX_URL_LENGTH",
    "PATH",
    "REPOSITORY",
    "SECRET_NAME",
    "VALUE_FIELDS",
    "InvalidReport",
    "UsageReport",
    "parse_report",
    "read_report",
]

PATH = "/api/usage"
MAX_SECRETS = 100
MAX_NAME_LENGTH = 255
MAX_TEXT_LENGTH = 255
MAX_URL_LENGTH = 1024
FUTURE_TOLERANCE = timedelta(minutes=5)

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


def read_report(body: bytes, now: datetime) -> UsageReport:
    """The report in ``body`` (JSON bytes); raises ``InvalidReport`` naming the field."""
    return parse_report(_decode(body), now)


def _decode(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidReport(None, "expected a JSON object") from None
