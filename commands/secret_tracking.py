"""The expiry registry from chat and forge threads: ``secrets track|untrack|ack|snooze``.

- ``secrets track NAME [--repo R] --expires DATE [--owner @who] [--rotate-url URL]``
  records when the secret expires, who rotates it and where (``SecretRegistry.track``,
  source ``command``). A new expiry date clears the acknowledgement and snooze of the old
  one, so alerts start afresh (after a rotation, say). Tracking again without ``--owner``
  or ``--rotate-url`` keeps the ones recorded; ``--owner ""`` clears it.
- ``secrets untrack NAME [--repo R]`` forgets it; no more alerts.
- ``secrets ack NAME [--repo R]`` stops alerts for the secret's current expiry date.
- ``secrets snooze NAME DURATION [--repo R]`` holds its alerts back for ``3d``, ``12h`` or
  ``1w``; when the snooze ends, the most urgent threshold due is alerted once.

All four are write-level. The repository is ``--repo``, else the forge thread's (or the
chat thread's subject), else the channel's default (``use OWNER/REPO``), else a usage
error that says how to name it. The permission check sees the repository only when it was
named or is the thread's: with the channel's default, a grant scoped to repositories does
not apply (the router resolves only targets it is given), so such a user is refused and
can name ``--repo``. That fails closed.

Dates: ``YYYY-MM-DD``, or ``30d`` / ``2w`` for that many days or weeks from today in the
``[secrets] timezone`` (the zone the alerts count days in). A date in the past is accepted
with a warning: the secret has expired, and its channels get the "expired" alert on the
next run of the alert job. Secret names are letters, digits and ``_`` (as both forges
allow); a rotation link must be an http(s) URL.

Every answer is a whole ``Reply``; times come from ``ctx.clock``; no secret value is ever
asked for or shown.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.channels.store import ChannelDefaults
from bot.context import Context
from bot.errors import UsageError
from bot.messages import Field, Forge, Level, Link, Reply, Status, Target, TargetKind
from bot.router import Command
from bot.secrets.alert_replies import days_phrase, repo_option
from bot.secrets.alert_store import SecretAlerts
from bot.secrets.alerts import today_in
from bot.secrets.settings import SecretsSettings
from bot.secrets.store import SecretRegistry, Tracked

SOURCE = "command"
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
RELATIVE_DATE = re.compile(r"(\d{1,4})([dw])")
DURATION = re.compile(r"(\d{1,4})([hdw])")
UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
MAX_SNOOZE = timedelta(days=90)
MAX_OWNER = 255
MAX_URL = 1024

_NAME_HELP = "the secret's name, as CI knows it"
_REPO_HELP = "the repository (default: this thread's, or the channel's default)"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackArgs:
    name: str = field(metadata={"help": _NAME_HELP, "metavar": "NAME"})
    repo: Target | None = field(
        default=None, metadata={"option": True, "help": _REPO_HELP, "metavar": "OWNER/REPO"}
    )
    expires: str = field(
        metadata={
            "option": True,
            "help": "the expiry date, YYYY-MM-DD, or 30d / 2w from today",
            "metavar": "DATE",
        }
    )
    owner: str | None = field(
        default=None,
        metadata={"option": True, "help": "who rotates it, such as @alice", "metavar": "@WHO"},
    )
    rotate_url: str | None = field(
        default=None,
        metadata={"option": True, "help": "where it is rotated (http/https)", "metavar": "URL"},
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NameArgs:
    name: str = field(metadata={"help": _NAME_HELP, "metavar": "NAME"})
    repo: Target | None = field(
        default=None, metadata={"option": True, "help": _REPO_HELP, "metavar": "OWNER/REPO"}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SnoozeArgs:
    name: str = field(metadata={"help": _NAME_HELP, "metavar": "NAME"})
    duration: str = field(
        metadata={"help": "how long: 12h, 3d or 1w (at most 90 days)", "metavar": "DURATION"}
    )
    repo: Target | None = field(
        default=None, metadata={"option": True, "help": _REPO_HELP, "metavar": "OWNER/REPO"}
    )


@dataclass(frozen=True, slots=True)
class _Secret:
    """The secret a command is about: forge, repository (lower case) and name."""

    forge: Forge
    repo: str
    name: str

    @property
    def shown(self) -> str:
        return f"{self.name} in {self.repo}"

    @property
    def repo_option(self) -> str:
        return repo_option(self.forge, self.repo)


class SecretTrackingCommands:
    """The handlers, over the registry, the alert state and the channels' defaults."""

    def __init__(
        self,
        registry: SecretRegistry,
        alerts: SecretAlerts,
        defaults: ChannelDefaults,
        settings: SecretsSettings,
    ) -> None:
        self._registry = registry
        self._alerts = alerts
        self._defaults = defaults
        self._settings = settings

    async def track(self, ctx: Context, args: TrackArgs) -> Reply:
        secret = await self._secret(ctx, args.name, args.repo)
        now = ctx.clock.now()
        today = today_in(self._settings.timezone, now)
        expires_on = parse_expiry(args.expires, today)
        owner, rotate_url = _owner(args.owner), _rotate_url(args.rotate_url)
        known = await self._registry.get(secret.forge, secret.repo, secret.name)
        if known is not None:  # a new date after rotation keeps who rotates it, and where
            owner = owner if args.owner is not None else known.owner
            rotate_url = rotate_url if args.rotate_url is not None else known.rotate_url
        current, previous = await self._registry.track(
            secret.forge,
            secret.repo,
            secret.name,
            expires_on=expires_on,
            owner=owner,
            rotate_url=rotate_url,
            source=SOURCE,
            set_by=ctx.actor.name,
            now=now,
        )
        days_left = (expires_on - today).days
        paragraphs = [_when_alerted(self._settings, secret, days_left)]
        if previous is None:
            title, status = f"Tracking {secret.shown}", Status.OK
        else:
            title, status = f"Tracking of {secret.shown} updated", Status.OK
            paragraphs.insert(0, _change(previous, expires_on))
        if days_left < 0:
            status = Status.WARNING
            paragraphs.insert(
                0, f"That date is in the past: {secret.name} {days_phrase(days_left)}."
            )
        return Reply(
            title=title,
            status=status,
            paragraphs=tuple(paragraphs),
            fields=_fields(current, days_left),
            links=_links(current),
        )

    async def untrack(self, ctx: Context, args: NameArgs) -> Reply:
        secret = await self._secret(ctx, args.name, args.repo)
        if not await self._registry.untrack(secret.forge, secret.repo, secret.name):
            return _not_tracked(secret)
        return Reply(
            title=f"Stopped tracking {secret.shown}",
            status=Status.OK,
            paragraphs=(
                f"The bot no longer knows when {secret.name} expires and sends no more alerts "
                "about it.",
            ),
        )

    async def ack(self, ctx: Context, args: NameArgs) -> Reply:
        secret = await self._secret(ctx, args.name, args.repo)
        tracked = await self._alerts.ack(secret.forge, secret.repo, secret.name)
        if tracked is None:
            return _not_tracked(secret)
        if tracked.expires_on is None:
            return _no_expiry(secret)
        return Reply(
            title=f"Alerts for {secret.shown} acknowledged",
            status=Status.OK,
            paragraphs=(
                f"No more alerts about its expiry on {tracked.expires_on.isoformat()}.",
                "After rotating it, record the new date with "
                f"`secrets track {secret.name} {secret.repo_option} --expires YYYY-MM-DD`; "
                "alerts start again for that date.",
            ),
        )

    async def snooze(self, ctx: Context, args: SnoozeArgs) -> Reply:
        secret = await self._secret(ctx, args.name, args.repo)
        length = parse_duration(args.duration)
        until = ctx.clock.now() + length
        tracked = await self._alerts.snooze(secret.forge, secret.repo, secret.name, until)
        if tracked is None:
            return _not_tracked(secret)
        if tracked.expires_on is None:
            return _no_expiry(secret)
        return Reply(
            title=f"Alerts for {secret.shown} snoozed until {_moment(until)}",
            status=Status.OK,
            paragraphs=(
                "Then the most urgent alert due is sent once; the ones that fell in the "
                "snooze are not sent late.",
                f"Say `secrets ack {secret.name} {secret.repo_option}` to stop alerts for its "
                f"expiry on {tracked.expires_on.isoformat()} altogether.",
            ),
        )

    async def _secret(self, ctx: Context, name: str, given: Target | None) -> _Secret:
        """The secret's forge, repository and name, from the arguments, thread or channel."""
        if NAME_PATTERN.fullmatch(name) is None:
            raise UsageError(f"NAME must be a secret's name (letters, digits and _), not {name!r}")
        target = ctx.target
        if given is not None and target is not None and target.kind is not TargetKind.REPOSITORY:
            shown = dataclasses.replace(target, forge=None)
            raise UsageError(f"--repo must be a repository, such as {target.repo}, not {shown}")
        if target is not None:
            return _Secret(ctx.services.forges.forge_of(target), target.repo.lower(), name)
        where = ctx.invocation.reply_to
        default = await self._defaults.get(where.platform, where.channel)
        if default is not None:
            return _Secret(default.forge, default.repo, name)
        raise UsageError(
            "which repository? Add `--repo OWNER/REPO`, or set this channel's default "
            "repository with `use OWNER/REPO`"
        )


def parse_expiry(text: str, today: date) -> date:
    """``YYYY-MM-DD``, or ``30d`` / ``2w`` from ``today``; a ``UsageError`` otherwise."""
    relative = RELATIVE_DATE.fullmatch(text.strip().lower())
    if relative is not None:
        amount, unit = int(relative.group(1)), relative.group(2)
        return today + timedelta(days=amount * (7 if unit == "w" else 1))
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"DATE must be a date such as 2027-01-31, or 30d / 2w from today, not {text!r}"
        ) from None


def parse_duration(text: str) -> timedelta:
    """``12h``, ``3d``, ``1w``: more than nothing and at most 90 days; a ``UsageError`` else."""
    found = DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise UsageError(
            f"DURATION must be hours, days or weeks such as 12h, 3d or 1w, not {text!r}"
        )
    length = timedelta(hours=int(found.group(1)) * UNIT_HOURS[found.group(2)])
    if not timedelta(0) < length <= MAX_SNOOZE:
        raise UsageError(f"DURATION must be more than 0 and at most 90 days, not {text}")
    return length


def _owner(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > MAX_OWNER:
        raise UsageError(f"--owner must be at most {MAX_OWNER} characters")
    return text.strip()


def _rotate_url(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > MAX_URL:
        raise UsageError(f"--rotate-url must be an http(s) URL, not {text!r}")
    return text.strip()


def _when_alerted(settings: SecretsSettings, secret: _Secret, days_left: int) -> str:
    thresholds = settings.thresholds_days
    before = [str(days) for days in thresholds if days > 0]
    parts = []
    if before:
        listed = before[0] if len(before) == 1 else f"{', '.join(before[:-1])} and {before[-1]}"
        parts.append(f"{listed} days before it expires")
    if 0 in thresholds:
        parts.append("on the day")
    when = " and ".join(parts)
    if days_left < 0:
        return (
            f"Channels subscribed to {secret.repo}'s alerts get one alert that it expired, "
            "on the next alert run."
        )
    return f"Channels subscribed to {secret.repo}'s alerts are warned {when}."


def _change(previous: Tracked, expires_on: date) -> str:
    if previous.expires_on == expires_on:
        return f"Its expiry date stays {expires_on.isoformat()}."
    if previous.expires_on is None:
        return f"It had no expiry date; now it is {expires_on.isoformat()}."
    return (
        f"Its expiry date changed from {previous.expires_on.isoformat()} to "
        f"{expires_on.isoformat()}; alerts start afresh for the new date."
    )


def _fields(tracked: Tracked, days_left: int) -> tuple[Field, ...]:
    assert tracked.expires_on is not None
    return (
        Field("expires", f"{tracked.expires_on.isoformat()} ({days_phrase(days_left)})"),
        Field("owner", tracked.owner or "not set"),
    )


def _links(tracked: Tracked) -> tuple[Link, ...]:
    if tracked.rotate_url is None:
        return ()
    return (Link(f"Rotate {tracked.name}", tracked.rotate_url),)


def _not_tracked(secret: _Secret) -> Reply:
    return Reply(
        title=f"{secret.shown} is not tracked",
        status=Status.ERROR,
        paragraphs=(
            f"Say `secrets track {secret.name} {secret.repo_option} --expires YYYY-MM-DD` to "
            "track it.",
        ),
    )


def _no_expiry(secret: _Secret) -> Reply:
    return Reply(
        title=f"{secret.shown} has no expiry date",
        status=Status.ERROR,
        paragraphs=(
            "It gets no alerts, so there is nothing to acknowledge or snooze. Say "
            f"`secrets track {secret.name} {secret.repo_option} --expires YYYY-MM-DD` to set one.",
        ),
    )


def _moment(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def commands(
    settings: SecretsSettings,
    registry: SecretRegistry | None = None,
    alerts: SecretAlerts | None = None,
    defaults: ChannelDefaults | None = None,
) -> tuple[Command[Any], ...]:
    registry = registry or SecretRegistry()
    handlers = SecretTrackingCommands(
        registry, alerts or SecretAlerts(registry), defaults or ChannelDefaults(), settings
    )
    return (
        Command(
            name="secrets track",
            summary="Record when a CI secret expires, who rotates it and where.",
            handler=handlers.track,
            args=TrackArgs,
            level=Level.WRITE,
            examples=(
                "secrets track NPM_TOKEN --repo acme/web --expires 2027-03-31",
                "secrets track DEPLOY_KEY --expires 90d --owner @ops "
                "--rotate-url https://example.com/keys",
            ),
            description=(
                "Channels subscribed to the repository's alerts are warned before it expires."
            ),
        ),
        Command(
            name="secrets untrack",
            summary="Forget a CI secret's expiry date; no more alerts about it.",
            handler=handlers.untrack,
            args=NameArgs,
            level=Level.WRITE,
            examples=("secrets untrack NPM_TOKEN --repo acme/web",),
        ),
        Command(
            name="secrets ack",
            summary="Stop the alerts about a secret's current expiry date.",
            handler=handlers.ack,
            args=NameArgs,
            level=Level.WRITE,
            examples=("secrets ack NPM_TOKEN --repo acme/web",),
        ),
        Command(
            name="secrets snooze",
            summary="Hold a secret's expiry alerts back for a while.",
            handler=handlers.snooze,
            args=SnoozeArgs,
            level=Level.WRITE,
            examples=("secrets snooze NPM_TOKEN 3d --repo acme/web",),
        ),
    )
