"""Chat channels' standing wishes: ``subscribe``, ``unsubscribe``, ``subscriptions``, ``use``.

``subscribe OWNER/REPO [runs|alerts|all]`` makes the asking channel receive the repository's
CI run results, alerts, or both (``bot.channels.store.Subscriptions``); ``unsubscribe``
stops that and ``subscriptions`` lists them. ``use OWNER/REPO`` sets the channel's default
repository, so that a short target (``status #12``) means a pull request in it
(``bot.targets``); ``use`` alone shows it and ``use --clear`` removes it.

Invariants:
- A channel is the asking ``reply_to`` channel, whatever the platform; a forge thread is
  refused (it is not a channel, and its repository is already known).
- Only repositories are accepted (``acme/web``, not ``acme/web#12``), checked for syntax
  only: the forge client has no repository lookup, so a subscription to a repository the
  bot cannot see is recorded and simply never hears anything.
- ``subscribe`` and ``unsubscribe`` are write-level. ``use`` is read-level so anyone may
  see the default; setting or clearing it needs write (``PermissionDenied``).
- Every reply is ``Reply`` data; times come from ``ctx.clock``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.arguments import NoArgs
from bot.channels.store import ChannelDefaults, Subscriptions, Topic
from bot.context import Context
from bot.errors import CommandError, PermissionDenied, UsageError
from bot.messages import Forge, Level, Place, Reply, Status, Table, Target, TargetKind
from bot.router import Command

_REPO_HELP = "the repository, as owner/repo or group/project"
_REPO = "OWNER/REPO"

_WHY_NOT_IN_A_THREAD = {
    "subscribe": "run it in the chat channel that should get the messages",
    "unsubscribe": "run it in the chat channel that gets the messages",
    "subscriptions": "run it in a chat channel to see what that channel gets",
    "use": "here a short target such as `#12` already means one in this thread's repository",
}

_TOPIC_WORDS = {
    Topic.RUNS: "run results",
    Topic.ALERTS: "alerts",
    Topic.ALL: "run results and alerts",
}

_KIND_WORDS = {
    TargetKind.PULL_REQUEST: "pull request",
    TargetKind.MERGE_REQUEST: "merge request",
    TargetKind.ISSUE: "issue",
}


@dataclass(frozen=True, slots=True)
class SubscribeArgs:
    repo: Target = field(metadata={"help": _REPO_HELP, "metavar": _REPO})
    topics: str = field(
        default=Topic.ALL.value,
        metadata={"help": "what to post here (default: all)", "metavar": "runs|alerts|all"},
    )


@dataclass(frozen=True, slots=True)
class RepoArgs:
    repo: Target = field(metadata={"help": _REPO_HELP, "metavar": _REPO})


@dataclass(frozen=True, slots=True)
class UseArgs:
    repo: Target | None = field(
        default=None, metadata={"help": "the channel's new default repository", "metavar": _REPO}
    )
    clear: bool = field(default=False, metadata={"help": "remove the channel's default"})


class ChannelCommands:
    """The handlers, over the stores they record in."""

    def __init__(self, subscriptions: Subscriptions, defaults: ChannelDefaults) -> None:
        self._subscriptions = subscriptions
        self._defaults = defaults

    async def subscribe(self, ctx: Context, args: SubscribeArgs) -> Reply:
        _require_a_channel(ctx, "subscribe")
        repo = _repository(args.repo, "subscribe")
        topics = _topics(args.topics)
        subscriber, previous = await self._subscriptions.subscribe(
            ctx.invocation.reply_to,
            ctx.services.forges.forge_of(repo),
            repo.repo,
            topics,
            by=ctx.actor.name,
            now=ctx.clock.now(),
        )
        name, gets = subscriber.repo, _TOPIC_WORDS[topics]
        stop = f"Say `unsubscribe {name}` to stop."
        if previous is None:
            return Reply(
                title=f"Subscribed to {name}",
                status=Status.OK,
                paragraphs=(f"This channel gets {gets} for {name}.", stop),
            )
        if previous is topics:
            return Reply(
                title=f"Already subscribed to {name}",
                paragraphs=(f"This channel already gets {gets} for {name}.", stop),
            )
        return Reply(
            title=f"Subscription to {name} changed",
            status=Status.OK,
            paragraphs=(
                f"This channel now gets {gets} for {name}, instead of {_TOPIC_WORDS[previous]}.",
                stop,
            ),
        )

    async def unsubscribe(self, ctx: Context, args: RepoArgs) -> Reply:
        _require_a_channel(ctx, "unsubscribe")
        repo = _repository(args.repo, "unsubscribe")
        name = repo.repo.lower()
        removed = await self._subscriptions.unsubscribe(
            ctx.invocation.reply_to, ctx.services.forges.forge_of(repo), name
        )
        if removed:
            return Reply(
                title=f"Unsubscribed from {name}",
                status=Status.OK,
                paragraphs=(f"This channel no longer gets run results or alerts for {name}.",),
            )
        return Reply(
            title=f"Not subscribed to {name}",
            paragraphs=(
                f"This channel is not subscribed to {name}.",
                "Say `subscriptions` to see what it is subscribed to.",
            ),
        )

    async def subscriptions(self, ctx: Context, _args: NoArgs) -> Reply:
        _require_a_channel(ctx, "subscriptions")
        found = await self._subscriptions.of_channel(ctx.invocation.reply_to)
        if not found:
            return Reply(
                title="This channel has no subscriptions",
                paragraphs=(
                    "Say `subscribe OWNER/REPO` to get a repository's run results and alerts here.",
                ),
            )
        rows = tuple(
            (item.repo, item.topics.value, _when(item.created_at), item.created_by)
            for item in found
        )
        return Reply(
            title="This channel's subscriptions",
            table=Table(headers=("repo", "topics", "since", "by"), rows=rows),
        )

    async def use(self, ctx: Context, args: UseArgs) -> Reply:
        _require_a_channel(ctx, "use")
        if args.repo is not None and args.clear:
            raise UsageError(f"give {_REPO} or --clear, not both")
        if args.repo is not None:
            return await self._set_default(ctx, _repository(args.repo, "use"))
        if args.clear:
            return await self._clear_default(ctx)
        return await self._show_default(ctx)

    async def _show_default(self, ctx: Context) -> Reply:
        where = ctx.invocation.reply_to
        default = await self._defaults.get(where.platform, where.channel)
        if default is None:
            return Reply(
                title="This channel has no default repository",
                paragraphs=(
                    f"Say `use {_REPO}` to set one; then `status #12` here means {_REPO}#12.",
                ),
            )
        short, full = _example(default.forge, default.repo)
        return Reply(
            title=f"Default repository: {default.repo}",
            paragraphs=(
                f"`status {short}` here means {full}.",
                f"Set by {default.set_by} on {_when(default.updated_at)}.",
                f"Say `use {_REPO}` to change it, or `use --clear` to remove it.",
            ),
        )

    async def _set_default(self, ctx: Context, repo: Target) -> Reply:
        _require_write(ctx, "Setting")
        where, forge = ctx.invocation.reply_to, ctx.services.forges.forge_of(repo)
        name = repo.repo.lower()
        previous = await self._defaults.set(
            where.platform, where.channel, forge, name, by=ctx.actor.name, now=ctx.clock.now()
        )
        short, full = _example(forge, name)
        paragraphs = [f"`status {short}` in this channel now means {full}."]
        if previous is not None and (previous.forge, previous.repo) != (forge, name):
            paragraphs.append(f"It replaces {previous.repo}.")
        return Reply(
            title=f"Default repository: {name}", status=Status.OK, paragraphs=tuple(paragraphs)
        )

    async def _clear_default(self, ctx: Context) -> Reply:
        _require_write(ctx, "Clearing")
        where = ctx.invocation.reply_to
        default = await self._defaults.get(where.platform, where.channel)
        if default is None or not await self._defaults.clear(where.platform, where.channel):
            return Reply(
                title="This channel has no default repository",
                paragraphs=("There was nothing to clear.",),
            )
        short, full = _example(default.forge, default.repo)
        return Reply(
            title="Default repository cleared",
            status=Status.OK,
            paragraphs=(
                f"This channel no longer has a default repository (it was {default.repo}): "
                f"name the repository, as in `status {full}`, instead of `status {short}`.",
            ),
        )


def _require_a_channel(ctx: Context, command: str) -> None:
    if ctx.invocation.reply_to.place is Place.THREAD:
        raise CommandError(
            f"`{command}` works in chat channels, and a pull or merge request thread is not "
            f"one: {_WHY_NOT_IN_A_THREAD[command]}."
        )


def _require_write(ctx: Context, doing: str) -> None:
    if ctx.level < Level.WRITE:
        raise PermissionDenied(
            f"{doing} this channel's default repository needs write access; you have {ctx.level}."
        )


def _repository(target: Target, command: str) -> Target:
    """``target`` if it names a whole repository, else a ``UsageError`` naming it."""
    if target.kind is TargetKind.REPOSITORY:
        return target
    shown = dataclasses.replace(target, forge=None)
    raise UsageError(
        f"{_REPO} must be a repository, not the {_KIND_WORDS[target.kind]} {shown}: "
        f"say `{command} {target.repo}`"
    )


def _topics(text: str) -> Topic:
    try:
        return Topic(text.lower())
    except ValueError:
        raise UsageError(f"what to subscribe to is runs, alerts or all, not {text!r}") from None


def _example(forge: Forge, repo: str) -> tuple[str, str]:
    """A short target and what it means with ``repo`` as the default: ``#12``, ``o/r#12``."""
    short = "!12" if forge is Forge.GITLAB else "#12"
    return short, f"{repo}{short}"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def commands(subscriptions: Subscriptions, defaults: ChannelDefaults) -> tuple[Command[Any], ...]:
    handlers = ChannelCommands(subscriptions, defaults)
    return (
        Command(
            name="subscribe",
            summary="Post a repository's run results and alerts in this channel.",
            handler=handlers.subscribe,
            args=SubscribeArgs,
            level=Level.WRITE,
            examples=("subscribe acme/web", "subscribe acme/web runs"),
            description="`runs` posts run results only, `alerts` alerts only, `all` both.",
        ),
        Command(
            name="unsubscribe",
            summary="Stop posting a repository's run results and alerts in this channel.",
            handler=handlers.unsubscribe,
            args=RepoArgs,
            level=Level.WRITE,
            examples=("unsubscribe acme/web",),
        ),
        Command(
            name="subscriptions",
            summary="List the repositories this channel is subscribed to.",
            handler=handlers.subscriptions,
            args=NoArgs,
            examples=("subscriptions",),
        ),
        Command(
            name="use",
            summary="Show or set this channel's default repository (what #12 means here).",
            handler=handlers.use,
            args=UseArgs,
            examples=("use", "use acme/web", "use --clear"),
            description="Anyone may see the default; setting or clearing it needs write access.",
        ),
    )
