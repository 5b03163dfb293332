"""Thin I/O for GitLab: a gidgetlab client on our aiohttp session, and nothing else.

``GitLabApi`` is gidgetlab's ``GitLabAPI`` over an ``aiohttp.ClientSession`` (gidgetlab's own
aiohttp module drags in a bot framework and a cache library we do not use). It is the one
seam between the bot and GitLab: the connector, the authorizer and the forge all take an
instance, and tests point it at the fake through ``base_url``.

It adds one thing gidgetlab lacks: the headers of a failed response. gidgetlab raises its
``HTTPException`` from the status and body alone, so ``Retry-After`` and ``RateLimit-Reset``
would be lost; ``failed_response_headers(exc)`` gives them back (an empty mapping for an
exception that did not come from a response), for ``connectors.gitlab.errors``.

Project paths are URL-encoded (``group%2Fsub%2Fproject``) by ``project_ref``, as GitLab's
API takes ``:id`` either as the numeric id or the encoded ``path_with_namespace``.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Mapping
from types import MappingProxyType

import aiohttp
from gidgetlab import abc as gitlab_abc
from gidgetlab import sansio
from gidgetlab.exceptions import HTTPException

SUCCESS = frozenset({200, 201, 202, 204, 304})
_HEADERS_ATTRIBUTE = "chatops_response_headers"
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class GitLabApi(gitlab_abc.GitLabAPI):
    """gidgetlab over one shared aiohttp session, authenticated with ``token``
    (``Authorization: Bearer``: GitLab takes personal, project and group tokens so)."""

    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str, token: str, requester: str
    ) -> None:
        super().__init__(requester, access_token=token, url=base_url)
        self._session = session

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        async with self._session.request(method, url, headers=dict(headers), data=body) as response:
            status, received, content = response.status, response.headers, await response.read()
        if status not in SUCCESS:
            _raise_with_headers(status, received, content, method)
        return status, received, content

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def project_ref(path_with_namespace: str) -> str:
    """The ``:id`` of a project in API paths: its path, URL-encoded (``group%2Fproject``)."""
    return urllib.parse.quote(path_with_namespace, safe="")


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
