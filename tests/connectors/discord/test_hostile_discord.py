"""Hostile and odd input at Discord's front doors: the interactions endpoint and mentions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from tests.fakes.discord import FakeDiscord, message_payload
from tests.fakes.discord_app import SIGNING_KEY, RunningBot, running_bot
from tests.fakes.server import checked
from tests.fakes.waiting import wait_until
from tests.fuzzing import FUZZ_SETTINGS, fuzzed, json_bodies, json_values


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with checked(FakeDiscord()) as fake:
        yield fake


def signed(bot: RunningBot, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    sent_at = timestamp if timestamp is not None else str(int(bot.clock.now().timestamp()))
    return {
        "Content-Type": "application/json",
        "X-Signature-Ed25519": SIGNING_KEY.sign(sent_at.encode() + body).signature.hex(),
        "X-Signature-Timestamp": sent_at,
    }


@pytest.mark.parametrize(
    "body",
    [b"[" * 50_000 + b"]" * 50_000, b"[1, 2]", b'"text"', b"\xff"],
    ids=["50,000 deep", "a list", "a string", "not UTF-8"],
)
async def test_signed_bodies_that_are_not_interactions_get_400(
    database_url: str, fake: FakeDiscord, body: bytes
) -> None:
    async with running_bot(database_url, fake, gateway=False) as bot:
        response = await bot.client.post(
            "/discord/interactions", data=body, headers=signed(bot, body)
        )

        assert (response.status, await response.json()) == (
            400,
            {"error": "expected an interaction object"},
        )


async def test_two_signature_headers_are_refused(database_url: str, fake: FakeDiscord) -> None:
    async with running_bot(database_url, fake, gateway=False) as bot:
        body = json.dumps({"id": "1", "type": 1, "token": "t", "version": 1}).encode()
        good = signed(bot, body)
        response = await bot.client.post(
            "/discord/interactions",
            data=body,
            headers=[
                ("X-Signature-Ed25519", good["X-Signature-Ed25519"]),
                ("X-Signature-Ed25519", "00" * 64),
                ("X-Signature-Timestamp", good["X-Signature-Timestamp"]),
            ],
        )

        assert (response.status, await response.json()) == (
            401,
            {"error": "invalid request signature"},
        )


async def test_a_mention_with_40_commands_runs_ten_and_posts_one_notice(
    database_url: str, fake: FakeDiscord
) -> None:
    async with running_bot(database_url, fake):
        async with asyncio.timeout(10):
            await fake.ready.wait()
        me = {"id": fake.bot_user_id, "username": "chatops", "discriminator": "0", "avatar": None}
        message = message_payload(
            message_id="334385199974967999",
            content="\n".join([f"<@{fake.bot_user_id}> ping"] * 40),
            mentions=[me],
        )

        await fake.dispatch("MESSAGE_CREATE", message)

        async def settled() -> bool:
            return await OutboxItem.filter(status=OutboxStatus.SENT).count() >= 11

        await wait_until(settled)
        await asyncio.sleep(0.2)
        assert await InboxItem.all().count() == 10
        assert len(fake.messages) == 11
        [notice] = [m for m in fake.messages if m["embeds"][0]["title"].endswith("commands")]
        assert notice["embeds"][0]["description"] == (
            "This message holds 40 commands; only the first 10 were taken. "
            "The other 30 were ignored: send them in another message."
        )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fuzzed_interaction_requests_never_get_a_5xx_or_a_traceback(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert fuzzed(fuzz_target(database_url), caplog, fuzz) == []


@asynccontextmanager
async def fuzz_target(database_url: str) -> AsyncIterator[RunningBot]:
    async with (
        checked(FakeDiscord()) as fake,
        running_bot(database_url, fake, gateway=False) as bot,
    ):
        yield bot


JSON_VALUES = json_values(["id", "type", "token", "data", "member", "user", "channel_id", "name"])


def fuzz(runner: asyncio.Runner, bot: RunningBot) -> None:
    @FUZZ_SETTINGS
    @given(
        body=json_bodies(JSON_VALUES),
        sign=st.booleans(),
        timestamp=st.one_of(st.none(), st.text(max_size=12), st.integers().map(str)),
    )
    def check(body: bytes, sign: bool, timestamp: str | None) -> None:
        headers: dict[str, Any] = {"Content-Type": "application/json"}
        if sign:
            stamp = timestamp if timestamp is not None and timestamp.isascii() else None
            if stamp is None or stamp.isprintable():
                headers = signed(bot, body, stamp)
        response = runner.run(bot.client.post("/discord/interactions", data=body, headers=headers))
        assert response.status < 500

    check()
