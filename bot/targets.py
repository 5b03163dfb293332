"""Which repository a command means: short targets resolved from where they were typed.

A user may name a pull request as ``#12`` (or a merge request as ``!12``) when the
repository goes without saying. ``TargetResolver.resolve`` turns what a command was given
into the full ``Target`` the authorizer and the handler act on:

- a full target (``acme/web#12``) is returned as is;
- a short one typed in a thread about a target (a forge PR thread, or a chat thread whose
  subject is known: ``Invocation.target``) takes that target's repository and forge: ``#13``
  in acme/web#12's thread means acme/web#13;
- elsewhere it takes the channel's default repository (``use OWNER/REPO``, stored in
  ``ChannelDefaults`` by platform and ``reply_to.channel``), when the resolver has them;
- with neither, it is a ``UsageError`` that says how to name the repository;
- nothing given means the thread's target, or ``None``: a command decides what no
  target means.

The sigils keep their meaning from the long forms (``bot.parsing.place_target``): ``#12``
on GitLab is an issue, and ``!12`` is a merge request, which GitHub has none of.

Invariants: a returned target is never relative; only a target the user typed can fail to
resolve (a thread subject that cannot be placed counts as no subject), so commands that
take no target are never refused here; the store is read only for a short target.
"""

from __future__ import annotations

from bot.channels.store import ChannelDefaults, DefaultRepo
from bot.errors import UsageError
from bot.messages import Forge, Invocation, Target
from bot.parsing import InvalidTarget, place_target


class TargetResolver:
    """Resolve short targets from the thread and, given ``defaults``, the channel."""

    def __init__(self, defaults: ChannelDefaults | None = None) -> None:
        self._defaults = defaults

    async def resolve(self, given: Target | None, invocation: Invocation) -> Target | None:
        """The full target ``given`` means where ``invocation`` was typed; see the module."""
        if given is not None and not given.relative:
            return given
        thread = await self._thread(invocation)
        if given is None:
            return thread
        if thread is not None:
            return _place(given, thread.repo, thread.forge)
        default = await self._default(invocation)
        if default is not None:
            return _place(given, default.repo, default.forge)
        raise UsageError(self._needs_repository(given))

    async def _thread(self, invocation: Invocation) -> Target | None:
        """The full target of the thread the command was typed in, if it has one."""
        subject = invocation.target
        if subject is None or not subject.relative:
            return subject
        default = await self._default(invocation)  # a chat thread about "#12"
        if default is None:
            return None
        try:
            return place_target(subject, default.repo, default.forge)
        except InvalidTarget:
            return None

    async def _default(self, invocation: Invocation) -> DefaultRepo | None:
        if self._defaults is None:
            return None
        return await self._defaults.get(invocation.reply_to.platform, invocation.reply_to.channel)

    def _needs_repository(self, given: Target) -> str:
        example = f"owner/repo{given}" if given.forge is None else f"group/project{given}"
        text = f"`{given}` needs a repository: say `{example}`"
        if self._defaults is None:
            return text + "."
        return text + ", or set this channel's default with `use OWNER/REPO`."


def _place(short: Target, repo: str, forge: Forge | None) -> Target:
    """``short`` in ``repo`` on ``forge``, or a ``UsageError`` saying why not."""
    try:
        return place_target(short, repo, forge)
    except InvalidTarget as exc:
        raise UsageError(f"`{short}` cannot be read in {repo}: {exc.problem}.") from None
