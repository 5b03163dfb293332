"""``POST /api/usage``: CI reports which secrets a pipeline used, and expiry dates it knows.

The forges say nothing about when a secret was last used or when it expires, so CI tells
the bot (``chatops report-usage`` is the client). This module is the HTTP edge only: it
translates the request, and the result back into a response. The body's schema is
``bot.secrets.usage_report``, the tokens ``bot.secrets.usage_tokens``, and what a report
writes ``bot.secrets.usage_record``.

Request::

    POST /api/usage
    Authorization: Bearer <the repository's usage token>
    Content-Type: application/json

    {"repo": "acme/web", "secrets": ["NPM_TOKEN"], "used_by": "pipeline 1234", ...}

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
- 400 ``{"error", "field"}``: a body the schema refuses; ``field`` is the path of the
  offending field (``secrets[2]``, ``expires.NPM_TOKEN``), ``null`` when the body as a
  whole is wrong.

Order of checks: the token is matched (in constant time, against every configured token)
before the body is read, so an unauthenticated caller learns nothing about the schema or
the configuration; then the size cap, the schema, and the token of the named repository.

Invariants: the token and the values of the body are never logged, stored or echoed; an
error names a field, never its content. The body is read in chunks, and reading stops
once it passes ``MAX_BODY_BYTES``, whatever ``Content-Length`` says. Nothing here holds
module state.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web

from bot.clock import Clock
from bot.secrets.settings import UsageToken
from bot.secrets.store import SecretRegistry, SecretUses
from bot.secrets.usage_record import record_report
from bot.secrets.usage_report import PATH, InvalidReport, read_report
from bot.secrets.usage_tokens import UsageTokens, bearer_token

__all__ = ["MAX_BODY_BYTES", "PATH", "UsageApi", "build_usage_api"]

MAX_BODY_BYTES = 64 * 1024
READ_CHUNK = 16 * 1024


@dataclass
class UsageApi:
    """The ``POST /api/usage`` handler: translate the request, check it, record, answer."""

    tokens: UsageTokens
    clock: Clock
    log: logging.Logger
    registry: SecretRegistry = field(default_factory=SecretRegistry)
    uses: SecretUses = field(default_factory=SecretUses)

    async def handle(self, request: web.Request) -> web.Response:
        presented = bearer_token(request.headers.get("Authorization", ""))
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
            report = read_report(body, now)
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
