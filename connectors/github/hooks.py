"""Per-hook webhook secrets, as stored by ``chatops github setup-repo``.

A delivery names its hook in ``X-GitHub-Hook-ID``. ``HookSecrets.lookup`` returns that
hook's secret and repository, caching what it found (a hook's secret only changes
through ``setup-repo``, which writes a new row and restarts nothing, so a miss always
goes to the store: a hook created while the server runs is found on its first delivery).
"""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime

from bot.messages import Platform
from connectors.github.models import WebhookSecret

PLATFORM = Platform.GITHUB.value


@dataclass(frozen=True, slots=True)
class HookSecret:
    hook_id: str
    repo: str
    secret: str


def new_secret() -> str:
    """A fresh webhook secret: 32 random bytes, URL-safe text."""
    return random_secrets.token_urlsafe(32)


class HookSecrets:
    def __init__(self) -> None:
        self._cache: dict[str, HookSecret] = {}

    async def lookup(self, hook_id: str) -> HookSecret | None:
        cached = self._cache.get(hook_id)
        if cached is not None:
            return cached
        row = await WebhookSecret.get_or_none(platform=PLATFORM, hook_id=hook_id)
        if row is None:
            return None
        found = HookSecret(hook_id=row.hook_id, repo=row.repo, secret=row.secret)
        self._cache[hook_id] = found
        return found

    async def count(self) -> int:
        counted: int = await WebhookSecret.filter(platform=PLATFORM).count()
        return counted

    async def store(self, hook_id: str, repo: str, secret: str, now: datetime) -> None:
        await WebhookSecret.update_or_create(
            defaults={"repo": repo, "secret": secret, "created_at": now},
            platform=PLATFORM,
            hook_id=hook_id,
        )
        self._cache.pop(hook_id, None)
