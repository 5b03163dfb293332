"""The command registry and dispatch: text in, ``Reply`` and audit entry out.

Commands are declared once (``Command``) in ``commands/`` modules, each of which
exports a ``commands()`` function; the application passes the lists to
``Router`` explicitly. Nothing registers itself at import time.

``Router.dispatch`` runs one invocation through: split the text into words,
find the command (longest name first, so ``secrets audit`` beats ``secrets``),
bind typed arguments, resolve short targets (``#12``) with the ``TargetResolver``
(so the authorizer and the handler see only full ones), ask the ``Authorizer``
for the user's level, run the handler under a time limit, and map every failure
to a reply (see the error tree in ``bot.errors``). It never raises for a user's
mistake or a handler's crash, and every decision yields exactly one ``Audit`` entry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.arguments import ArgumentSpec, argument_specs, bind, brief_usage_line, usage_line
from bot.context import Catalog, Context, Services, family_of
from bot.errors import CommandError, PermissionDenied, UpstreamError, UsageError
from bot.forge import NotFound
from bot.messages import (
    DELIVERY_HINT,
    Field,
    Invocation,
    Level,
    Outgoing,
    Reply,
    Status,
    Table,
    Target,
)
from bot.parsing import ParseError, split_args
from bot.permissions import Authorizer, PermissionUnavailable
from bot.store.queues import Audit
from bot.targets import TargetResolver

A = TypeVar("A")
Handler = Callable[[Context, A], Awaitable[Reply]]


@dataclass(frozen=True)
class Command(Generic[A]):
    """One command: its name, typed arguments, permission level, help and handler."""

    name: str
    summary: str
    handler: Handler[A]
    args: type[A]
    level: Level = Level.READ
    aliases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    description: str = ""
    specs: tuple[ArgumentSpec, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "specs", argument_specs(self.args))

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    @property
    def usage(self) -> str:
        return usage_line(self.name, self.specs)

    @property
    def brief_usage(self) -> str:
        """The usage for a list of commands; ``usage`` has every option."""
        return brief_usage_line(self.name, self.specs)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What dispatch produced: the reply to send and the audit entry to record."""

    reply: Reply
    audit: Audit
    command: str | None
    result: str  # ok | usage | unknown | denied | error | crash | timeout
    # messages the handler queued elsewhere (``Context.also_send``); only when it succeeded
    followups: tuple[Outgoing, ...] = ()


class Router:
    def __init__(
        self,
        commands: Iterable[Command[Any]],
        *,
        authorizer: Authorizer,
        services: Services,
        handler_timeout: float,
        log: logging.Logger | logging.LoggerAdapter[logging.Logger],
        resolver: TargetResolver | None = None,
    ) -> None:
        self._commands: list[Command[Any]] = sorted(commands, key=lambda c: -len(c.words))
        _check_unique(self._commands)
        self._authorizer = authorizer
        # without channel defaults, a short target resolves only inside a thread about one
        self._resolver = resolver or TargetResolver()
        self._services = services
        self._timeout = handler_timeout
        self._log = log

    @property
    def commands(self) -> Sequence[Command[Any]]:
        return sorted(self._commands, key=lambda c: c.name)

    async def dispatch(self, invocation: Invocation) -> Outcome:
        try:
            words = split_args(invocation.text)
        except ParseError as exc:
            return self._outcome(invocation, None, "usage", _parse_error_reply(exc), exc.message)
        if not words:
            words = ["help"]
        found = self._find(words)
        if found is None:
            reply = self._unknown_reply(words[0])
            return self._outcome(invocation, None, "unknown", reply, words[0])
        command, rest = found
        try:
            args = bind(command.args, command.specs, rest)
        except UsageError as exc:
            return self._outcome(invocation, command, "usage", _usage_reply(command, exc.message))
        try:
            args, target = await self._resolve(args, invocation)
        except UsageError as exc:
            return self._outcome(invocation, command, "usage", _usage_reply(command, exc.message))
        try:
            level = await self._authorizer.level_for(invocation.actor, target)
        except PermissionUnavailable as exc:
            self._log.warning("%s", exc, extra=_ids(invocation))
            if command.level > exc.granted:
                reply = _unavailable_reply(exc)
                return self._outcome(invocation, command, "unchecked", reply, str(exc))
            level = exc.granted
        except Exception:
            self._log.exception("authorizer failed; denying", extra=_ids(invocation))
            level = Level.READ
        if command.level > level:
            reply = _denied_reply(command, level)
            return self._outcome(invocation, command, "denied", reply, level=level)
        context = Context(
            invocation=invocation,
            level=level,
            target=target,
            services=self._services,
            catalog=Catalog(self.commands, level),
        )
        return await self._run(invocation, command, context, args)

    async def _resolve(self, args: Any, invocation: Invocation) -> tuple[Any, Target | None]:
        """Resolve every target argument in place; the command's target is the first one,
        else the thread's. Raises ``UsageError`` for a short target nothing can place."""
        resolved: dict[str, Target] = {}
        for name, value in _targets_of(args):
            full = await self._resolver.resolve(value, invocation)
            if full is not None and full != value:
                resolved[name] = full
        if resolved:
            args = dataclasses.replace(args, **resolved)
        first = next((value for _, value in _targets_of(args)), None)
        return args, first or await self._resolver.resolve(None, invocation)

    async def _run(
        self, invocation: Invocation, command: Command[Any], context: Context, args: object
    ) -> Outcome:
        level = context.level
        try:
            async with asyncio.timeout(self._timeout):
                reply = await command.handler(context, args)
        except UsageError as exc:
            return self._outcome(
                invocation, command, "usage", _usage_reply(command, exc.message), level=level
            )
        except PermissionDenied as exc:
            reply = Reply(title="Permission denied", status=Status.ERROR, paragraphs=(exc.message,))
            return self._outcome(invocation, command, "denied", reply, exc.message, level)
        except UpstreamError as exc:
            reply = _upstream_reply(exc)
            return self._outcome(invocation, command, "error", reply, exc.message, level)
        except CommandError as exc:
            reply = Reply(
                title=f"`{command.name}` failed", status=Status.ERROR, paragraphs=(exc.message,)
            )
            return self._outcome(invocation, command, "error", reply, exc.message, level)
        except TimeoutError:
            ref = _new_ref()
            self._log.error(
                "handler timed out after %ss (ref %s)", self._timeout, ref, extra=_ids(invocation)
            )
            reply = _crash_reply(ref, f"`{command.name}` took too long and was stopped.")
            return self._outcome(invocation, command, "timeout", reply, f"ref {ref}", level)
        except Exception:
            ref = _new_ref()
            self._log.exception("handler crashed (ref %s)", ref, extra=_ids(invocation))
            reply = _crash_reply(ref, "Something went wrong while running this command.")
            return self._outcome(invocation, command, "crash", reply, f"ref {ref}", level)
        outcome = self._outcome(invocation, command, "ok", reply, level=level)
        return dataclasses.replace(outcome, followups=tuple(context.followups))

    def _find(self, words: Sequence[str]) -> tuple[Command[Any], list[str]] | None:
        lowered = [word.lower() for word in words]
        for command in self._commands:
            size = len(command.words)
            if tuple(lowered[:size]) == command.words:
                return command, list(words[size:])
            if size == 1 and lowered[0] in command.aliases:
                return command, list(words[1:])
        return None

    def _unknown_reply(self, word: str) -> Reply:
        family = family_of(self._commands, word)
        if family:
            # ``secrets`` alone: the family's sub-commands, not a guess
            return Reply(
                title=f"`{word.lower()}` needs a sub-command",
                status=Status.ERROR,
                paragraphs=(f"Say `help {word.lower()}` for what you can run here.",),
                table=Table(
                    headers=("command", "what it does"),
                    rows=tuple((c.brief_usage, c.summary) for c in family),
                ),
            )
        names = sorted({c.words[0] for c in self._commands} | _aliases(self._commands))
        close = difflib.get_close_matches(word.lower(), names, n=1, cutoff=0.6)
        paragraphs = [f"Did you mean `{close[0]}`?"] if close else []
        paragraphs.append("Say `help` to see the commands you can run here.")
        return Reply(
            title=f"Unknown command: {word}", status=Status.ERROR, paragraphs=tuple(paragraphs)
        )

    def _outcome(
        self,
        invocation: Invocation,
        command: Command[Any] | None,
        result: str,
        reply: Reply,
        detail: str = "",
        level: Level | None = None,
    ) -> Outcome:
        audit = Audit(
            platform=invocation.platform.value,
            actor=f"{invocation.actor.platform}:{invocation.actor.id}",
            decision=result,
            invocation_id=invocation.id,
            command=command.name if command else None,
            level=str(level) if level is not None else None,
            detail=_with_delivery(detail, invocation.reply_to.hint(DELIVERY_HINT)),
        )
        self._log.info(
            "dispatched: command=%s result=%s",
            command.name if command else "-",
            result,
            extra=_ids(invocation),
        )
        return Outcome(
            reply=reply, audit=audit, command=command.name if command else None, result=result
        )


def _with_delivery(detail: str, delivery: str | None) -> str:
    if not delivery:
        return detail
    return f"{detail} (delivery {delivery})" if detail else f"delivery {delivery}"


def _check_unique(commands: Sequence[Command[Any]]) -> None:
    seen: set[str] = set()
    for command in commands:
        for name in (command.name, *command.aliases):
            if name in seen:
                raise ValueError(f"command name {name!r} is declared twice")
            seen.add(name)


def _aliases(commands: Sequence[Command[Any]]) -> set[str]:
    return {alias for command in commands for alias in command.aliases}


def _targets_of(args: object) -> list[tuple[str, Target]]:
    """The arguments that hold a target, by field name, in declaration order."""
    found = []
    for item in dataclasses.fields(args):  # type: ignore[arg-type]
        value = getattr(args, item.name)
        if isinstance(value, Target):
            found.append((item.name, value))
    return found


def _ids(invocation: Invocation) -> dict[str, str]:
    return {"invocation_id": invocation.id, "delivery_key": invocation.delivery_key}


def _new_ref() -> str:
    return uuid.uuid4().hex[:8]


def usage_fields(command: Command[Any]) -> tuple[Field, ...]:
    fields = [Field("Usage", command.usage)]
    if command.examples:
        fields.append(Field("Examples", "\n".join(command.examples)))
    return tuple(fields)


def _usage_reply(command: Command[Any], message: str) -> Reply:
    return Reply(
        title=f"Wrong arguments for `{command.name}`",
        status=Status.ERROR,
        paragraphs=(_sentence(message),),
        fields=usage_fields(command),
    )


def _parse_error_reply(exc: ParseError) -> Reply:
    return Reply(
        title="Could not read that command",
        status=Status.ERROR,
        paragraphs=(
            _sentence(exc.message),
            "Put quotes around an argument that contains spaces, and close every quote.",
        ),
    )


def _denied_reply(command: Command[Any], level: Level) -> Reply:
    return Reply(
        title="Permission denied",
        status=Status.ERROR,
        paragraphs=(f"`{command.name}` needs {command.level} access; you have {level}.",),
    )


def _unavailable_reply(exc: PermissionUnavailable) -> Reply:
    return Reply(
        title="Permission could not be checked", status=Status.ERROR, paragraphs=(exc.message,)
    )


def _upstream_reply(exc: UpstreamError) -> Reply:
    if isinstance(exc, NotFound):  # an answer about the target, not a failure of the forge
        return Reply(title=f"Not found: {exc.name}", status=Status.ERROR, paragraphs=(exc.message,))
    status = f" (HTTP {exc.status})" if exc.status is not None else ""
    return Reply(
        title=f"{exc.platform} did not answer as expected{status}",
        status=Status.ERROR,
        paragraphs=(exc.message,),
    )


def _crash_reply(ref: str, what: str) -> Reply:
    return Reply(
        title=f"Something went wrong (ref {ref})",
        status=Status.ERROR,
        paragraphs=(what, f"The details are in the bot's log under ref {ref}."),
    )


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."
