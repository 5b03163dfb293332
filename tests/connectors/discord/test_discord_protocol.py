"""Sans-I/O Discord: signatures, decoding events, and the slash definition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from nacl.signing import SigningKey

from bot.app import builtin_commands
from bot.arguments import NoArgs
from bot.context import Context
from bot.messages import Actor, Platform, Reply, ReplyTarget
from bot.router import Command
from connectors.discord.definitions import OptionError, SlashCommands
from connectors.discord.protocol import (
    BadSignature,
    decode_interaction,
    decode_mentions,
    verify_signature,
)
from tests.fakes.discord import interaction_payload, message_payload, slash_data

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY = SigningKey(bytes(range(32)))
PUBLIC = KEY.verify_key.encode().hex()
BOT = "775799577604522054"


@dataclass(frozen=True)
class StatusArgs:
    target: str = field(metadata={"help": "owner/repo#12", "metavar": "TARGET"})
    within: int | None = field(default=None, metadata={"option": True, "help": "days"})
    verbose: bool = False
    extra: str | None = None


async def noop(_ctx: Context, _args: object) -> Reply:
    return Reply(title="")


STATUS = Command(name="ci status", summary="Show CI.", handler=noop, args=StatusArgs)
SLASH = SlashCommands.build("chatops", [*builtin_commands(), STATUS])


def signed(body: bytes, at: int) -> str:
    return KEY.sign(str(at).encode() + body).signature.hex()


def test_a_good_signature_verifies_and_anything_else_is_refused() -> None:
    at = int(NOW.timestamp())
    good = signed(b"{}", at)
    check = {"body": b"{}", "now": NOW.timestamp(), "max_age": 300.0}

    verify_signature(PUBLIC, signature=good, timestamp=str(at), **check)  # type: ignore[arg-type]
    refusals = [
        dict(signature=good, timestamp=str(at + 1)),
        dict(signature=good[:-2] + "00", timestamp=str(at)),
        dict(signature=None, timestamp=str(at)),
        dict(signature="not hex", timestamp=str(at)),
        dict(signature=good, timestamp="soon"),
    ]
    reasons = []
    for headers in refusals:
        with pytest.raises(BadSignature) as raised:
            verify_signature(PUBLIC, **headers, **check)  # type: ignore[arg-type]
        reasons.append(raised.value.reason)
    old = signed(b"{}", at - 301)
    with pytest.raises(BadSignature, match="more than 300s from now"):
        verify_signature(PUBLIC, signature=old, timestamp=str(at - 301), **check)  # type: ignore[arg-type]
    assert reasons == [
        "the signature does not verify",
        "the signature does not verify",
        "missing X-Signature-Ed25519 or X-Signature-Timestamp",
        "the signature does not verify",
        "the signature does not verify",
    ]


def test_the_definition_has_typed_options_required_first() -> None:
    definition = SLASH.definition()

    assert definition["name"] == "chatops"
    # one sub-command per command, its words joined by "-", in name order (the built-in
    # listing itself is the snapshot discord_slash_command_options.json)
    expected = sorted(["ci-status", *(c.name.replace(" ", "-") for c in builtin_commands())])
    assert [o["name"] for o in definition["options"]] == expected
    assert expected[:4] == ["ci-status", "help", "ping", "rescan"]
    assert definition["options"][0] == {
        "type": 1,
        "name": "ci-status",
        "description": "Show CI.",
        "options": [
            {"type": 3, "name": "target", "description": "owner/repo#12", "required": True},
            {"type": 4, "name": "within", "description": "days", "required": False},
            {"type": 5, "name": "verbose", "description": "verbose", "required": False},
            {"type": 3, "name": "extra", "description": "extra", "required": False},
        ],
    }


def test_slash_options_become_the_command_line_the_router_reads() -> None:
    data = slash_data(
        "chatops", "ci-status", target="acme/web#3", within=7, verbose=True, extra="a b"
    )

    assert SLASH.text_for(data) == 'ci status acme/web#3 --within=7 --verbose "a b"'
    assert SLASH.text_for(slash_data("chatops", "ci-status", target="x/y", verbose=False)) == (
        "ci status x/y"
    )
    assert SLASH.text_for(slash_data("other", "ping")) is None
    assert SLASH.text_for(slash_data("chatops", "gone")) is None
    with pytest.raises(OptionError, match="unknown option loud for ping"):
        SLASH.text_for(slash_data("chatops", "ping", loud=True))


def test_too_many_commands_for_one_slash_command_is_refused() -> None:
    many = [Command(name=f"c{i}", summary="s", handler=noop, args=NoArgs) for i in range(26)]
    with pytest.raises(ValueError, match="Discord allows 25 sub-commands; 26 commands given"):
        SlashCommands.build("chatops", many)


def test_an_interaction_becomes_an_invocation_keyed_by_its_id() -> None:
    payload = interaction_payload(
        interaction_id="786008729715212338",
        token="A_UNIQUE_TOKEN",
        application_id=BOT,
        data=slash_data("chatops", "help", command="ping"),
    )

    receipt = decode_interaction(payload, SLASH, NOW)

    assert receipt is not None
    invocation = receipt.invocation
    assert (invocation.text, invocation.delivery_key) == (
        "help ping",
        "discord:interaction:786008729715212338",
    )
    assert invocation.actor == Actor(
        platform=Platform.DISCORD,
        id="53908232506183680",
        name="Mason",
        groups=("539082325061836999",),
    )
    assert invocation.reply_to == ReplyTarget(
        platform=Platform.DISCORD,
        channel="645027906669510667",
        extra=(
            ("interaction_received_at", NOW.isoformat()),
            ("interaction_token", "A_UNIQUE_TOKEN"),
        ),
    )
    assert decode_interaction({**payload, "type": 4}, SLASH, NOW) is None


def test_each_mentioned_line_is_one_invocation_and_quotes_are_skipped() -> None:
    content = f"<@{BOT}> ping\n> <@{BOT}> help\n<@!{BOT}> help ping"
    message = message_payload(
        message_id="334385199974967042",
        content=content,
        mentions=[{"id": BOT, "username": "chatops"}],
        roles=("111",),
    )

    invocations = decode_mentions(message, BOT, NOW)

    assert [(i.text, i.delivery_key) for i in invocations] == [
        ("ping", "discord:message:334385199974967042"),
        ("help ping", "discord:message:334385199974967042:1"),
    ]
    assert invocations[0].actor.groups == ("111",)
    assert invocations[0].reply_to == ReplyTarget(
        platform=Platform.DISCORD, channel="290926798999357250", message="334385199974967042"
    )
    assert decode_mentions({**message, "webhook_id": "9"}, BOT, NOW) == []
