"""``secrets audit``, ``secrets expiring`` and ``secrets usage``: what CI secrets need care.

All three read only (level ``read``) and never see a secret value.

- ``secrets audit [REPO]``: every secret of the repository under its class (expired,
  expiring, undefined, stale, unused, untracked, ok: ``bot.secrets.audit``), most urgent
  first. The repository is the argument, else the thread's repository, else the channel's
  default (``use OWNER/REPO``).
- ``secrets expiring [--within 30d]``: the tracked secrets of every repository this channel
  is subscribed to that expire within the window (default ``[secrets]
  expiring_within_days``) or already expired, soonest first. Reads the store only.
- ``secrets usage [TARGET]``: the secrets a pull/merge request's CI files reference at its
  head commit, per file and job, with each one's last known use; a repository (or none,
  with a default) means its default branch.

Days are counted in the ``[secrets] timezone``, as the expiry alerts count them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.channels.store import ChannelDefaults, Subscriptions
from bot.context import Context
from bot.errors import UsageError
from bot.messages import Forge, Reply, Target, TargetKind
from bot.router import Command
from bot.secrets.alerts import today_in
from bot.secrets.audit import audit
from bot.secrets.inventory import SecretStores, gather_facts, gather_usage
from bot.secrets.replies import Expiring, audit_reply, expiring_reply, usage_reply
from bot.secrets.settings import SecretsSettings
from commands.changes import CHANGE_KINDS, label

WINDOW = re.compile(r"(\d{1,4})\s*([dw]?)")
MAX_WINDOW_DAYS = 3660


@dataclass(frozen=True, slots=True)
class AuditArgs:
    repo: Target | None = field(
        default=None, metadata={"help": "the repository (owner/repo)", "metavar": "REPO"}
    )


@dataclass(frozen=True, slots=True)
class ExpiringArgs:
    within: str | None = field(
        default=None,
        metadata={"option": True, "help": "how far ahead: 30d or 4w", "metavar": "DAYS"},
    )


@dataclass(frozen=True, slots=True)
class UsageArgs:
    target: Target | None = field(
        default=None,
        metadata={"help": "the pull request (owner/repo#12) or repository", "metavar": "TARGET"},
    )


class SecretsCommands:
    """The handlers, over the stores they read."""

    def __init__(
        self,
        stores: SecretStores,
        subscriptions: Subscriptions,
        defaults: ChannelDefaults,
        settings: SecretsSettings,
    ) -> None:
        self._stores = stores
        self._subscriptions = subscriptions
        self._defaults = defaults
        self._settings = settings

    async def audit(self, ctx: Context, _args: AuditArgs) -> Reply:
        target = await self._repository(ctx, "secrets audit")
        client = ctx.services.forges.client_for(target)
        facts = await gather_facts(client, target.repo, self._stores)
        settings = self._settings
        rows = audit(
            facts,
            _today(ctx, settings),
            stale_after_days=settings.stale_after_days,
            expiring_within_days=settings.expiring_within_days,
        )
        return audit_reply(target.repo, rows, facts.references.problems)

    async def expiring(self, ctx: Context, args: ExpiringArgs) -> Reply:
        within = (
            self._settings.expiring_within_days
            if args.within is None
            else parse_window(args.within)
        )
        today = _today(ctx, self._settings)
        subscribed = await self._subscriptions.of_channel(ctx.invocation.reply_to)
        found: list[Expiring] = []
        for subscriber in subscribed:
            for tracked in await self._stores.registry.for_repo(subscriber.forge, subscriber.repo):
                if tracked.expires_on is None:
                    continue
                days_left = (tracked.expires_on - today).days
                if days_left <= within:
                    found.append(Expiring(tracked, days_left))
        return expiring_reply(found, within, [subscriber.repo for subscriber in subscribed])

    async def usage(self, ctx: Context, _args: UsageArgs) -> Reply:
        target = await self._target_or_default(ctx, "secrets usage")
        client = ctx.services.forges.client_for(target)
        if target.kind in CHANGE_KINDS and target.number is not None:
            change = await client.change(target.repo, target.number)
            shown, ref = label(change), change.head_sha
            facts = await gather_usage(client, change.target.repo, ref, self._stores)
        elif target.kind is TargetKind.REPOSITORY:
            shown = target.repo
            facts = await gather_usage(client, target.repo, None, self._stores)
        else:
            raise UsageError(
                f"`secrets usage` works on a pull or merge request or a repository, and "
                f"{target.display} is neither (say `secrets usage owner/repo#12`)"
            )
        return usage_reply(shown, facts.references, facts.uses, facts.latest_runs)

    async def _target_or_default(self, ctx: Context, command: str) -> Target:
        """The command's target, else the channel's default repository."""
        if ctx.target is not None:
            return ctx.target
        where = ctx.invocation.reply_to
        default = await self._defaults.get(where.platform, where.channel)
        if default is None:
            raise UsageError(
                f"`{command}` needs a repository: say `{command} owner/repo`, run it in a pull "
                "request's thread, or set this channel's repository with `use owner/repo`"
            )
        return Target(repo=default.repo, kind=TargetKind.REPOSITORY, forge=default.forge)

    async def _repository(self, ctx: Context, command: str) -> Target:
        """The repository the command is about: the target's, or the channel's default."""
        target = await self._target_or_default(ctx, command)
        return Target(repo=target.repo, kind=TargetKind.REPOSITORY, forge=_forge(ctx, target))


def _forge(ctx: Context, target: Target) -> Forge:
    return ctx.services.forges.forge_of(target)


def _today(ctx: Context, settings: SecretsSettings) -> date:
    return today_in(settings.timezone, ctx.clock.now())


def parse_window(text: str) -> int:
    """``30``, ``30d`` or ``4w`` as a number of days; a ``UsageError`` otherwise."""
    found = WINDOW.fullmatch(text.strip().lower())
    if found is None:
        raise UsageError(f"--within takes days or weeks such as 30d or 4w, not {text!r}")
    days = int(found.group(1)) * (7 if found.group(2) == "w" else 1)
    if days > MAX_WINDOW_DAYS:
        raise UsageError(f"--within is at most {MAX_WINDOW_DAYS} days, not {days}")
    return days


def commands(
    settings: SecretsSettings,
    stores: SecretStores,
    subscriptions: Subscriptions,
    defaults: ChannelDefaults,
) -> tuple[Command[Any], ...]:
    handlers = SecretsCommands(stores, subscriptions, defaults, settings)
    return (
        Command(
            name="secrets audit",
            summary="Class every CI secret of a repository: expired, expiring, unused, ...",
            handler=handlers.audit,
            args=AuditArgs,
            examples=("secrets audit", "secrets audit acme/web"),
            description=(
                "Lists each secret as expired, expiring, undefined (referenced, not defined), "
                "stale (not rotated for a long time), unused (defined, never referenced), "
                "untracked (no expiry date known) or ok, most urgent first. Names and dates "
                "only: the bot never reads a secret's value."
            ),
        ),
        Command(
            name="secrets expiring",
            summary="List tracked secrets that expire soon, across this channel's repositories.",
            handler=handlers.expiring,
            args=ExpiringArgs,
            examples=("secrets expiring", "secrets expiring --within 7d"),
            description=(
                "Covers every repository this channel is subscribed to; expired secrets are "
                "listed too. Track an expiry date with `secrets track`."
            ),
        ),
        Command(
            name="secrets usage",
            summary="Show which secrets a pull request's CI uses, per workflow and job.",
            handler=handlers.usage,
            args=UsageArgs,
            examples=("secrets usage", "secrets usage acme/web#12", "secrets usage acme/web"),
            description=(
                "Reads the CI files at the pull request's head commit (a repository: its "
                "default branch), with each secret's last known use."
            ),
        ),
    )
