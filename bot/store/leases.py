"""Named, expiring leases: "only one replica does this at a time".

A lease is one row per name. ``acquire`` takes it when it is free or expired, or renews it
when the caller already holds it; it never takes a live lease from another holder. A holder
must renew well before ``expires_at``; one that cannot (it crashed, or lost the database)
loses the lease when it expires, and another replica takes over.

Invariants: at most one holder per name at any instant, as seen by the database; every
change is a single conditional statement, so two replicas racing for a free lease cannot
both win. Times come from the caller's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from bot.store.models import Lease


class Leases:
    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew ``name`` for ``holder`` until ``now + ttl``; False if held by another."""
        expires_at = now + ttl
        taken: int = await Lease.filter(
            Q(name=name) & (Q(holder=holder) | Q(expires_at__lte=now))
        ).update(holder=holder, expires_at=expires_at)
        if taken:
            return True
        try:
            await Lease.create(name=name, holder=holder, expires_at=expires_at)
        except IntegrityError:
            return False
        return True

    async def release(self, name: str, holder: str) -> None:
        """Give up ``name`` if ``holder`` still holds it; a no-op otherwise."""
        await Lease.filter(name=name, holder=holder).delete()

    async def holder(self, name: str, now: datetime) -> str | None:
        """Who holds ``name`` right now, or None."""
        lease = await Lease.get_or_none(name=name, expires_at__gt=now)
        return None if lease is None else lease.holder
