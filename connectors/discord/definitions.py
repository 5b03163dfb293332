"""The slash command, generated from the router's commands. Pure; no I/O.

One chat-input command (``/chatops`` by default) has a sub-command per bot command, with
typed options from the command's argument dataclass (``bot.arguments``): ``str`` and
``Target`` become STRING options, ``int`` INTEGER, ``bool`` BOOLEAN. Help text and usage
come from the same declarations, so ``/chatops help`` and the slash definition agree.

Discord's rules, from the docs (interactions/application-commands): names 1-32 lower-case
characters, descriptions 1-100, at most 25 sub-commands and 25 options each, required
options before optional ones. A command name with spaces (``secrets audit``) becomes a
sub-command with a dash (``secrets-audit``); ``SlashCommands.text_for`` reverses it.

Invariant: ``SlashCommands`` is built once from the command list; the definition it
produces and the names it decodes come from the same table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.arguments import ArgumentSpec
from bot.messages import Target
from bot.parsing import join_args
from bot.router import Command

CHAT_INPUT = 1
SUB_COMMAND = 1
STRING = 3
INTEGER = 4
BOOLEAN = 5
MAX_SUB_COMMANDS = 25
DESCRIPTION_LIMIT = 100

_OPTION_TYPES: dict[type, int] = {str: STRING, Target: STRING, int: INTEGER, bool: BOOLEAN}


class OptionError(ValueError):
    """An interaction's options do not fit the command they name."""


@dataclass(frozen=True, slots=True)
class SlashCommands:
    """The ``/<name>`` command and the bot commands its sub-commands stand for."""

    name: str
    by_sub_command: Mapping[str, Command[Any]]

    @classmethod
    def build(cls, name: str, commands: Sequence[Command[Any]]) -> SlashCommands:
        table = {sub_command_name(c): c for c in sorted(commands, key=lambda c: c.name)}
        if len(table) > MAX_SUB_COMMANDS:
            raise ValueError(
                f"Discord allows {MAX_SUB_COMMANDS} sub-commands; {len(table)} commands given"
            )
        return cls(name=name, by_sub_command=table)

    def definition(self) -> dict[str, Any]:
        """The application command object, as sent to the bulk-overwrite endpoints."""
        return {
            "name": self.name,
            "type": CHAT_INPUT,
            "description": "Run a chat-ops command.",
            "options": [
                {
                    "type": SUB_COMMAND,
                    "name": sub,
                    "description": _description(command.summary, command.name),
                    "options": [_option(spec) for spec in _ordered(command.specs)],
                }
                for sub, command in self.by_sub_command.items()
            ],
        }

    def fingerprint(self) -> str:
        """A digest of the definition: registration is skipped when it did not change."""
        text = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def text_for(self, data: Mapping[str, Any]) -> str | None:
        """The command line an interaction's ``data`` stands for, or None if not ours.

        ``/chatops status target:acme/web#3 verbose:True`` reads as
        ``status acme/web#3 --verbose``; the router parses it like any typed command.
        Raises ``OptionError`` for an option the command does not declare.
        """
        if data.get("name") != self.name:
            return None
        options = data.get("options") or []
        if not options or options[0].get("type") != SUB_COMMAND:
            return None
        sub = options[0]
        command = self.by_sub_command.get(str(sub.get("name")))
        if command is None:
            return None
        given = {str(o.get("name")): o.get("value") for o in sub.get("options") or []}
        unknown = sorted(set(given) - {spec.name for spec in command.specs})
        if unknown:
            raise OptionError(f"unknown option {unknown[0]} for {command.name}")
        return join_args([*command.words, *_words(command.specs, given)])


def sub_command_name(command: Command[Any]) -> str:
    return command.name.replace(" ", "-")


def _words(specs: Sequence[ArgumentSpec], given: Mapping[str, object]) -> list[str]:
    _check_positional_order(specs, given)
    words: list[str] = []
    for spec in specs:
        if spec.name not in given or given[spec.name] is None:
            continue
        value = given[spec.name]
        if spec.flag:
            if value is True:
                words.append(spec.cli_name)
        elif spec.option:
            words.append(f"{spec.cli_name}={value}")
        else:
            words.append(str(value))
    return words


def _check_positional_order(specs: Sequence[ArgumentSpec], given: Mapping[str, object]) -> None:
    """Refuse a later positional without an earlier one: the words would bind wrongly."""
    positional = [spec for spec in specs if not spec.option]
    seen_gap = False
    for spec in positional:
        present = given.get(spec.name) is not None
        if seen_gap and present:
            raise OptionError(f"give {spec.metavar} only together with the options before it")
        seen_gap = seen_gap or not present


def _ordered(specs: Sequence[ArgumentSpec]) -> list[ArgumentSpec]:
    """Required options first, as Discord demands; the order within each group is kept."""
    return [s for s in specs if s.required] + [s for s in specs if not s.required]


def _option(spec: ArgumentSpec) -> dict[str, Any]:
    return {
        "type": _OPTION_TYPES[spec.kind],
        "name": spec.name,
        "description": _description(spec.help, spec.metavar.lower()),
        "required": spec.required,
    }


def _description(text: str, fallback: str) -> str:
    text = (text or fallback).strip() or fallback
    if len(text) <= DESCRIPTION_LIMIT:
        return text
    return text[: DESCRIPTION_LIMIT - 3].rstrip() + "..."
