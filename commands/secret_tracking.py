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
asked for or shown. This module holds the arguments and the handlers;
``commands.secret_tracking_input`` checks the words given, and
``commands.secret_tracking_replies`` words the parts of the replies the commands share.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bot.channels.store import ChannelDefaults
from bot.context import Context
from bot.errors import UsageError
from bot.messages import Level, Reply, Status, Target, TargetKind
from bot.router import Command
from bot.secrets.alert_replies import days_phrase
from bot.secrets.alert_store import SecretAlerts
from bot.secrets.alerts import today_in
from bot.secrets.settings import SecretsSettings
from bot.secrets.store import SecretRegistry
from commands import secret_tracking_input as inputs
from commands import secret_tracking_replies as replies
from commands.secret_tracking_replies import Secret

SOURCE = "command"

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
        expires_on = inputs.parse_expiry(args.expires, today)
        owner, rotate_url = inputs.owner(args.owner), inputs.rotate_url(args.rotate_url)
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
        paragraphs = [replies.when_alerted(self._settings, secret, days_left)]
        if previous is None:
            title, status = f"Tracking {secret.shown}", Status.OK
        else:
            title, status = f"Tracking of {secret.shown} updated", Status.OK
            paragraphs.insert(0, replies.change(previous, expires_on))
        if days_left < 0:
            status = Status.WARNING
            paragraphs.insert(
                0, f"That date is in the past: {secret.name} {days_phrase(days_left)}."
            )
        return Reply(
            title=title,
            status=status,
            paragraphs=tuple(paragraphs),
            fields=replies.fields(current, days_left),
            links=replies.links(current),
        )

    async def untrack(self, ctx: Context, args: NameArgs) -> Reply:
        secret = await self._secret(ctx, args.name, args.repo)
        if not await self._registry.untrack(secret.forge, secret.repo, secret.name):
            return replies.not_tracked(secret)
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
            return replies.not_tracked(secret)
        if tracked.expires_on is None:
            return replies.no_expiry(secret)
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
        length = inputs.parse_duration(args.duration)
        until = ctx.clock.now() + length
        tracked = await self._alerts.snooze(secret.forge, secret.repo, secret.name, until)
        if tracked is None:
            return replies.not_tracked(secret)
        if tracked.expires_on is None:
            return replies.no_expiry(secret)
        return Reply(
            title=f"Alerts for {secret.shown} snoozed until {replies.moment(until)}",
            status=Status.OK,
            paragraphs=(
                "Then the most urgent alert due is sent once; the ones that fell in the "
                "snooze are not sent late.",
                f"Say `secrets ack {secret.name} {secret.repo_option}` to stop alerts for its "
                f"expiry on {tracked.expires_on.isoformat()} altogether.",
            ),
        )

    async def _secret(self, ctx: Context, name: str, given: Target | None) -> Secret:
        """The secret's forge, repository and name, from the arguments, thread or channel."""
        inputs.check_name(name)
        target = ctx.target
        if given is not None and target is not None and target.kind is not TargetKind.REPOSITORY:
            shown = dataclasses.replace(target, forge=None)
            raise UsageError(f"--repo must be a repository, such as {target.repo}, not {shown}")
        if target is not None:
            return Secret(ctx.services.forges.forge_of(target), target.repo.lower(), name)
        where = ctx.invocation.reply_to
        default = await self._defaults.get(where.platform, where.channel)
        if default is not None:
            return Secret(default.forge, default.repo, name)
        raise UsageError(
            "which repository? Add `--repo OWNER/REPO`, or set this channel's default "
            "repository with `use OWNER/REPO`"
        )


def commands(
    settings: SecretsSettings,
    registry: SecretRegistry,
    alerts: SecretAlerts,
    defaults: ChannelDefaults,
) -> tuple[Command[Any], ...]:
    handlers = SecretTrackingCommands(registry, alerts, defaults, settings)
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
