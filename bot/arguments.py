"""Typed command arguments, declared once as a frozen dataclass.

A command names a dataclass; its fields are the command's arguments, in order.
The field's type says how a word is converted and its default says whether it
is optional::

    @dataclass(frozen=True)
    class StatusArgs:
        target: Target | None = field(default=None, metadata={"help": "owner/repo#12"})
        verbose: bool = False                      # a flag: --verbose
        within: int = field(default=30, metadata={"option": True})  # --within 7

Supported types: ``str``, ``int``, ``Target`` and their ``| None`` forms
(positional, or ``--name VALUE`` options with ``metadata={"option": True}``),
and ``bool`` (a ``--flag``). The same declaration produces the usage line,
the help text, and slash-command definitions on chat platforms.

Invariant: ``bind`` either returns a fully typed instance or raises
``UsageError`` with a message that names the offending argument.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import UsageError
from bot.messages import Target
from bot.parsing import ParseError, parse_target

SCALARS: tuple[type, ...] = (str, int, Target, bool)


@dataclass(frozen=True, slots=True)
class ArgumentSpec:
    """One declared argument, read from a dataclass field."""

    name: str
    kind: type
    required: bool
    option: bool
    help: str
    metavar: str

    @property
    def flag(self) -> bool:
        return self.kind is bool

    @property
    def cli_name(self) -> str:
        return "--" + self.name.replace("_", "-")

    def usage(self) -> str:
        if self.flag:
            return f"[{self.cli_name}]"
        if self.option:
            text = f"{self.cli_name} {self.metavar}"
            return text if self.required else f"[{text}]"
        return self.metavar if self.required else f"[{self.metavar}]"


@dataclass(frozen=True, slots=True)
class NoArgs:
    """The arguments of a command that takes none."""


def argument_specs(args_type: type[Any]) -> tuple[ArgumentSpec, ...]:
    hints = typing.get_type_hints(args_type)
    specs = []
    for item in dataclasses.fields(args_type):
        kind, optional = _unwrap_optional(hints[item.name])
        if kind not in SCALARS:
            raise TypeError(f"{args_type.__name__}.{item.name}: unsupported type {kind!r}")
        has_default = (
            item.default is not dataclasses.MISSING
            or item.default_factory is not dataclasses.MISSING
        )
        default_metavar = "TARGET" if kind is Target else item.name.upper()
        specs.append(
            ArgumentSpec(
                name=item.name,
                kind=kind,
                required=not (has_default or optional or kind is bool),
                option=bool(item.metadata.get("option", False)) or kind is bool,
                help=str(item.metadata.get("help", "")),
                metavar=str(item.metadata.get("metavar", default_metavar)),
            )
        )
    return tuple(specs)


def usage_line(name: str, specs: Sequence[ArgumentSpec]) -> str:
    return " ".join([name, *(spec.usage() for spec in specs)])


def brief_usage_line(name: str, specs: Sequence[ArgumentSpec]) -> str:
    """``usage_line`` for a list of commands: two or more optional options read ``[OPTIONS]``."""
    optional = [spec for spec in specs if spec.option and not spec.required]
    if len(optional) < 2:
        return usage_line(name, specs)
    kept = [spec.usage() for spec in specs if not spec.option or spec.required]
    return " ".join([name, *kept, "[OPTIONS]"])


def bind(args_type: type[Any], specs: Sequence[ArgumentSpec], words: Sequence[str]) -> Any:
    """Convert words into an instance of ``args_type`` or raise ``UsageError``."""
    values: dict[str, object] = {}
    by_cli_name = {spec.cli_name: spec for spec in specs if spec.option}
    positional = [spec for spec in specs if not spec.option]
    remaining = list(words)
    leftovers: list[str] = []
    while remaining:
        word = remaining.pop(0)
        if word.startswith("--") and len(word) > 2:
            name, has_value, inline = word.partition("=")
            spec = by_cli_name.get(name)
            if spec is None:
                raise UsageError(f"unknown option {name}")
            if spec.flag:
                if has_value:
                    raise UsageError(f"{name} takes no value")
                values[spec.name] = True
                continue
            if not has_value:
                if not remaining:
                    raise UsageError(f"{name} needs a value ({spec.metavar})")
                inline = remaining.pop(0)
            values[spec.name] = _convert(spec, inline)
        else:
            leftovers.append(word)
    if len(leftovers) > len(positional):
        extra = " ".join(leftovers[len(positional) :])
        raise UsageError(f"unexpected argument(s): {extra}")
    for spec, word in zip(positional, leftovers, strict=False):
        values[spec.name] = _convert(spec, word)
    missing = [spec.metavar for spec in specs if spec.required and spec.name not in values]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}")
    return args_type(**values)


def _convert(spec: ArgumentSpec, word: str) -> object:
    if spec.kind is int:
        try:
            return int(word)
        except ValueError:
            raise UsageError(f"{spec.metavar} must be a whole number, not {word!r}") from None
    if spec.kind is Target:
        try:
            return parse_target(word)
        except ParseError as exc:
            raise UsageError(f"{spec.metavar}: {exc.message}") from None
    return word


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(members) == 1:
            return members[0], True
    return hint, False
