"""Credentials for GitHub API calls: a fixed token, or a GitHub App's installation tokens.

``AppTokens`` mints an installation token with the App's JWT (RS256, signed by
gidgethub: ``iat`` backdated 60 s for clock drift, 9 minutes of lifetime) and caches it
per installation until a minute before it expires. Concurrent callers share one refresh
per installation (a lock each), so a burst of replies mints one token, not one each.

A token GitHub refuses (401) is dropped with ``invalidate``, so the next call mints a new
one; ``CredentialsRejected`` is what a caller raises when even a fresh token is refused.

Invariants: tokens and the private key are never logged; an expired or nearly expired
token is never handed out; a token that was invalidated is never handed out again; the
cache lives in this object only (each replica mints its own, which GitHub allows).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import aiohttp
from gidgethub.aiohttp import GitHubAPI

from bot.clock import Clock

REFRESH_MARGIN = timedelta(minutes=1)


class MissingInstallation(Exception):
    """App mode, and nothing says which installation covers the repository."""


class CredentialsRejected(Exception):
    """GitHub answered 401 to a token that cannot be replaced, or to a freshly minted one."""


class TokenSource(Protocol):
    async def token(self, installation_id: int | None) -> str:
        """A token good for at least another minute, for ``installation_id`` (App mode)."""
        ...

    def invalidate(self, installation_id: int | None, token: str) -> bool:
        """Forget ``token`` after GitHub refused it; True if a new one can be minted."""
        ...


class StaticToken:
    """Token mode: one token for everything."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, installation_id: int | None) -> str:
        return self._token

    def invalidate(self, installation_id: int | None, token: str) -> bool:
        return False  # the configured token is all there is


@dataclass(frozen=True, slots=True)
class _Minted:
    token: str
    expires_at: datetime


class AppTokens:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        app_id: int,
        private_key: str,
        requester: str,
        clock: Clock,
    ) -> None:
        self._session = session
        self._base_url = base_url
        self._app_id = app_id
        self._private_key = private_key
        self._requester = requester
        self._clock = clock
        self._minted: dict[int, _Minted] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def app_api(self) -> GitHubAPI:
        """A client that authenticates as the App itself (JWT), for ``/app`` endpoints."""
        return GitHubAPI(
            self._session,
            self._requester,
            app_id=str(self._app_id),
            private_key=self._private_key,
            base_url=self._base_url,
        )

    async def installation_api(self, installation_id: int) -> GitHubAPI:
        """A client that authenticates as one installation."""
        token = await self.token(installation_id)
        return GitHubAPI(self._session, self._requester, oauth_token=token, base_url=self._base_url)

    async def token(self, installation_id: int | None) -> str:
        if installation_id is None:
            raise MissingInstallation("no installation is known for this repository")
        fresh = self._fresh(installation_id)
        if fresh is not None:
            return fresh
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            fresh = self._fresh(installation_id)
            if fresh is not None:
                return fresh
            response = await self.app_api().post(
                "/app/installations/{installation_id}/access_tokens",
                {"installation_id": installation_id},
                data=b"",
            )
            minted = _Minted(
                token=str(response["token"]),
                expires_at=datetime.fromisoformat(str(response["expires_at"])),
            )
            self._minted[installation_id] = minted
            return minted.token

    def invalidate(self, installation_id: int | None, token: str) -> bool:
        if installation_id is None:
            return False
        minted = self._minted.get(installation_id)
        if minted is not None and minted.token == token:
            del self._minted[installation_id]
        return True

    def _fresh(self, installation_id: int) -> str | None:
        minted = self._minted.get(installation_id)
        if minted is None or minted.expires_at - self._clock.now() <= REFRESH_MARGIN:
            return None
        return minted.token
