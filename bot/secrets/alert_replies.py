"""The expiry alert a subscribed channel receives, as ``Reply`` data. Pure; no I/O.

``expiry_alert_reply`` says which secret of which repository expires when (title such as
``NPM_TOKEN in acme/web expires in 7 days``), who owns it, where it is rotated, and the
commands that acknowledge or snooze its alerts from any platform. ``days_phrase`` words a
number of days left, for the alert and for the tracking commands.

Text is plain (renderers escape it and neutralise mentions, so an owner such as ``@alice``
pings nobody). No secret value is ever part of an alert: names, dates, owners and links.
"""

from __future__ import annotations

from datetime import date

from bot.messages import Field, Forge, Link, Reply, Status
from bot.secrets.store import Tracked

SNOOZE_EXAMPLE = "3d"


def days_phrase(days_left: int) -> str:
    """``expires in 7 days``, ``expires tomorrow``, ``expires today``, ``expired 2 days ago``."""
    if days_left > 1:
        return f"expires in {days_left} days"
    if days_left == 1:
        return "expires tomorrow"
    if days_left == 0:
        return "expires today"
    if days_left == -1:
        return "expired yesterday"
    return f"expired {-days_left} days ago"


def repo_option(forge: Forge, repo: str) -> str:
    """How a command names the repository: ``--repo acme/web`` (``gitlab:`` when needed)."""
    prefix = "gitlab:" if forge is Forge.GITLAB else ""
    return f"--repo {prefix}{repo}"


def expiry_alert_reply(tracked: Tracked, expires_on: date, days_left: int) -> Reply:
    """The alert for ``tracked``, whose expiry date ``expires_on`` is ``days_left`` days away."""
    name, repo = tracked.name, tracked.repo
    where = repo_option(tracked.forge, repo)
    if days_left > 0:
        advice = (
            f"Rotate it before it expires, then record the new date with "
            f"`secrets track {name} {where} --expires YYYY-MM-DD`."
        )
    else:
        advice = (
            f"CI that uses it may fail until it is rotated. Then record the new date with "
            f"`secrets track {name} {where} --expires YYYY-MM-DD`."
        )
    fields = [
        Field("expires", expires_on.isoformat()),
        Field("owner", tracked.owner or "not set (`secrets track ... --owner @who`)"),
        Field("acknowledge", f"`secrets ack {name} {where}` stops alerts for this date"),
        Field(
            "snooze",
            f"`secrets snooze {name} {SNOOZE_EXAMPLE} {where}` holds alerts back for 3 days",
        ),
    ]
    links = (Link(f"Rotate {name}", tracked.rotate_url),) if tracked.rotate_url else ()
    return Reply(
        title=f"{name} in {repo} {days_phrase(days_left)}",
        status=Status.WARNING if days_left > 0 else Status.ERROR,
        paragraphs=(advice,),
        fields=tuple(fields),
        links=links,
    )
