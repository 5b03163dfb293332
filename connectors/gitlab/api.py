"""Thin I/O for GitLab: a gidgetlab client on our aiohttp session, and nothing else.

``GitLabApi`` is gidgetlab's ``GitLabAPI`` over an ``aiohttp.ClientSession`` (gidgetlab's own
aiohttp module drags in a bot framework and a cache library we do not use). It is the one
seam between the bot and GitLab: the connector, the authorizer and the forge all take an
instance, and tests point it at the fake through ``base_url``.

It adds one thing gidgetlab lacks: the headers of a failed response. gidgetlab raises its
``HTTPException`` from the status and body alone, so ``Retry-After`` and ``RateLimit-Reset``
would be lost; ``failed_response_headers(exc)`` gives them back (an empty mapping for an
exception that did not come from a response), for ``connectors.gitlab.errors``.

With a ``RateGate`` (the server's; ``chatops shell`` has none) every request goes through
the shared gate of the token and host, ``gitlab:<host>:<token digest>:write`` / ``:read``:
mutating requests take a slot ``spacing`` apart; a 429 or a rate-limited 403 closes writes
for its ``Retry-After`` (a minute when GitLab does not say), and ``RateLimit-Remaining: 0``
closes reads and writes until ``RateLimit-Reset``. A closed gate raises
``bot.pipeline.delivery.RateLimited`` before the request is made. GitLab tokens are not minted by
the bot, so nothing is retried with another token.

Project paths are URL-encoded (``group%2Fsub%2Fproject``) by ``project_ref``, as GitLab's
API takes ``:id`` either as the numeric id or the encoded ``path_with_namespace``.
"""

from __future__ import annotations

import asyncio
import hashlib
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any

import aiohttp
from gidgetlab import abc as gitlab_abc
from gidgetlab import sansio
from gidgetlab.exceptions import HTTPException

from bot.pipeline.rate_gate import RateGate
from connectors.rate_limits import exhausted_until, retry_after_seconds

PER_PAGE = "100"
SUCCESS = frozenset({200, 201, 202, 204, 304})
_HEADERS_ATTRIBUTE = "chatops_response_headers"
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# GitLab counts its limits per minute: wait that long when a limit names no time
RATE_LIMIT_WAIT = 60.0


class GitLabApi(gitlab_abc.GitLabAPI):
    """gidgetlab over one shared aiohttp session, authenticated with ``token``
    (``Authorization: Bearer``: GitLab takes personal, project and group tokens so)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        token: str,
        requester: str,
        gate: RateGate | None = None,
    ) -> None:
        super().__init__(requester, access_token=token, url=base_url)
        self._session = session
        self._gate = gate
        host = urllib.parse.urlsplit(base_url).netloc
        digest = hashlib.sha256(token.encode()).hexdigest()[:12]
        self._gate_scope = f"gitlab:{host}:{digest}"

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        write = method.upper() not in READS
        if self._gate is not None:
            if write:
                await self._gate.write_slot(f"{self._gate_scope}:write")
            else:
                await self._gate.read_slot(f"{self._gate_scope}:read")
        async with self._session.request(method, url, headers=dict(headers), data=body) as response:
            status, received, content = response.status, response.headers, await response.read()
        await self._observe(status, received)
        if status not in SUCCESS:
            _raise_with_headers(status, received, content, method)
        return status, received, content

    async def _observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Close the gate as GitLab's answer asks (see the module docstring)."""
        if self._gate is None:
            return
        reason = f"GitLab answered {status}"
        reset = exhausted_until(headers)
        if reset is not None:
            for route in ("write", "read"):
                await self._gate.blocked(f"{self._gate_scope}:{route}", reset, reason)
        wait = retry_after_seconds(headers)
        if status == 429 or (status == 403 and wait is not None):
            seconds = RATE_LIMIT_WAIT if wait is None and reset is None else (wait or 0.0)
            await self._gate.blocked_for(f"{self._gate_scope}:write", seconds, reason)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def project_ref(path_with_namespace: str) -> str:
    """The ``:id`` of a project in API paths: its path, URL-encoded (``group%2Fproject``)."""
    return urllib.parse.quote(path_with_namespace, safe="")


def project_url(repo: str) -> str:
    """The API path of a project: ``/projects/<encoded path>``."""
    return f"/projects/{project_ref(repo)}"


def pipeline_url(repo: str, pipeline_id: object) -> str:
    return f"{project_url(repo)}/pipelines/{pipeline_id}"


def pages(
    api: gitlab_abc.GitLabAPI, url: str, params: Mapping[str, str | bool] | None = None
) -> AsyncIterator[Mapping[str, Any]]:
    """Every item of a list, page after page (``PER_PAGE`` a page)."""
    return api.getiter(url, {"per_page": PER_PAGE, **(params or {})})


def failed_response_headers(exc: BaseException) -> Mapping[str, str]:
    """The response headers of a failed request (lower-case keys); empty if unknown."""
    headers = getattr(exc, _HEADERS_ATTRIBUTE, None)
    return headers if isinstance(headers, Mapping) else _NO_HEADERS


def _raise_with_headers(status: int, headers: Mapping[str, str], body: bytes, method: str) -> None:
    """Let gidgetlab build its exception for the response, then attach the headers."""
    try:
        sansio.decipher_response(status, headers, body, method=method)
    except HTTPException as exc:
        lowered = MappingProxyType({key.lower(): value for key, value in headers.items()})
        setattr(exc, _HEADERS_ATTRIBUTE, lowered)
        raise
