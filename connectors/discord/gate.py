"""Discord's rate limits, shared by every replica through the store's rate gate.

discord.py keeps Discord's per-route buckets and the global limit in its own process;
this adds what another replica learnt, through ``bot.pipeline.rate_gate`` (state in the store).
The keys, ``<scope>`` being a digest of the bot token:

- ``<scope>:route:<METHOD path-template>:<major parameters>``: a route as discord.py keys
  it before it knows the route's bucket (``Route.key`` and ``Route.major_parameters``);
- ``<scope>:bucket:<X-RateLimit-Bucket>:<major parameters>``: the bucket Discord named;
- ``<scope>:global``: the bot's global limit.

Major parameters are discord.py's (channel, guild, webhook id, webhook token), with an
interaction token replaced by a digest, so no secret reaches the store.

``observe`` looks at every answer discord.py receives, including the 429s it then waits
out and retries itself: a 429 closes the route key, and the bucket key when the answer
names its bucket, for ``Retry-After``; a global 429 (``X-RateLimit-Global`` or scope
``global``) closes the global key. ``wait`` comes before each send: it waits for a key
closed a short while, and raises ``bot.pipeline.delivery.RateLimited`` for one closed longer than
the gate's ``max_wait``, so the sender puts the message back without counting it.

Invariants: a closed key is never sent through by any replica that checks it; the route
key is checked and closed always, so a replica that has not learnt the bucket yet still
sees a window another replica opened on that route. A route sharing a bucket with
another is held back by that bucket only once this process knows the bucket's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from discord.http import Route

from bot.pipeline.rate_gate import RateGate

# Discord always says how long; if an answer ever does not, this is how long to wait
DEFAULT_RETRY_AFTER = 5.0


def gate_scope(token: str) -> str:
    """The keys' first part: Discord and a digest of the bot token (never the token)."""
    return f"discord:{hashlib.sha256(token.encode()).hexdigest()[:12]}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def major_parameters(route: Route) -> str:
    """discord.py's major parameters of ``route``, with the webhook token as a digest."""
    token = route.webhook_token
    parts = (route.channel_id, route.guild_id, route.webhook_id, token and _digest(token))
    return "+".join(str(part) for part in parts if part is not None)


class DiscordGate:
    """The shared gate keys of one bot token; see the module docstring."""

    def __init__(self, gate: RateGate, scope: str) -> None:
        self._gate = gate
        self._scope = scope

    def keys(self, route: Route, bucket: str | None) -> list[str]:
        """The keys a send on ``route`` waits for: global, the bucket if known, the route."""
        major = major_parameters(route)
        keys = [f"{self._scope}:global"]
        if bucket is not None:
            keys.append(f"{self._scope}:bucket:{bucket}:{major}")
        keys.append(f"{self._scope}:route:{route.key}:{major}")
        return keys

    async def wait(self, route: Route, bucket: str | None) -> None:
        """Wait while a key of ``route`` is closed briefly; ``RateLimited`` if for longer."""
        for key in self.keys(route, bucket):
            await self._gate.read_slot(key)

    async def observe(self, route: Route, status: int, headers: Mapping[str, str]) -> None:
        """Close the keys a 429 names, for as long as it asks."""
        if status != 429:
            return
        seconds = _retry_after(headers)
        scope = headers.get("X-RateLimit-Scope", "")
        if headers.get("X-RateLimit-Global", "").lower() == "true" or scope == "global":
            reason = f"Discord's global rate limit: retry after {seconds:g}s"
            await self._gate.blocked_for(f"{self._scope}:global", seconds, reason)
            return
        reason = f"Discord rate limit on {route.method} {route.path}: retry after {seconds:g}s"
        for key in self.keys(route, headers.get("X-RateLimit-Bucket"))[1:]:
            await self._gate.blocked_for(key, seconds, reason)


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", DEFAULT_RETRY_AFTER)))
    except ValueError:
        return DEFAULT_RETRY_AFTER
