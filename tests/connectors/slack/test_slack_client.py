"""The Slack sender against the fake Web API: routing, failures, response_url, groups.

Pacing and rate-limit windows across replicas are in ``test_rate_gate_slack``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import PermissionGrant, PermissionsSettings
from bot.messages import Actor, Level, Outgoing, OutgoingKind, Platform, Reply, ReplyTarget, Status
from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable
from bot.pipeline.rate_gate import RateGate
from bot.store.database import Database
from bot.store.gates import GateStore
from bot.store.state import StateStore
from connectors.slack.client import SlackConnector
from connectors.slack.groups import SlackGroupAuthorizer
from connectors.slack.render import render_reply
from connectors.slack.threads import ThreadSubjects
from tests.fakes.clock import FakeClock
from tests.fakes.server import Answer
from tests.fakes.slack import BOT_TOKEN, FakeSlack

HELLO = Reply(title="hello", status=Status.OK)
ERROR = Reply(title="no such command", status=Status.ERROR)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack
        slack.assert_no_violations()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connector(
    fake: FakeSlack, session: aiohttp.ClientSession, clock: FakeClock, database: Database
) -> SlackConnector:
    web = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, session=session, timeout=5)
    return SlackConnector(
        web,
        session=session,
        clock=clock,
        gate=unpaced_gate(database, clock),
        subjects=ThreadSubjects(StateStore()),
        timeout=5,
        log=logging.getLogger("test"),
    )


def unpaced_gate(database: Database, clock: FakeClock) -> RateGate:
    """The shared gate without spacing: these tests are about where messages go."""
    return RateGate(GateStore(database), clock, spacing=0.0, max_wait=5.0)


def target(**extra: str) -> ReplyTarget:
    return ReplyTarget(platform=Platform.SLACK, channel="C111", extra=tuple(sorted(extra.items())))


def command_target(fake: FakeSlack, clock: FakeClock, **extra: str) -> ReplyTarget:
    expires = (clock.now() + timedelta(minutes=29)).isoformat()
    return target(
        response_url=fake.response_url("r1"),
        response_url_expires=expires,
        user="U1",
        via="command",
        **extra,
    )


def message(reply: Reply, to: ReplyTarget) -> Outgoing:
    """The direct answer to invocation 1."""
    return Outgoing(
        target=to, reply=reply, key="reply:1", invocation_id="1", kind=OutgoingKind.REPLY
    )


async def test_a_reply_in_a_thread_is_posted_there(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    to = ReplyTarget(platform=Platform.SLACK, channel="C111", thread="1.2")

    await connector.send(message(HELLO, to))

    assert fake.calls_to("chat.postMessage") == [
        {"channel": "C111", "thread_ts": "1.2", **render_reply(HELLO).payload()}
    ]


async def test_an_ephemeral_reply_goes_to_its_user_only(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    to = ReplyTarget(platform=Platform.SLACK, channel="C111", thread="1.2", ephemeral_user="U9")

    await connector.send(message(HELLO, to))

    assert fake.calls_to("chat.postEphemeral") == [
        {"channel": "C111", "user": "U9", "thread_ts": "1.2", **render_reply(HELLO).payload()}
    ]
    assert fake.calls_to("chat.postMessage") == []


async def test_an_acknowledgement_sends_nothing(connector: SlackConnector, fake: FakeSlack) -> None:
    await connector.send(
        Outgoing(target=target(), reply=HELLO, key="ack:1", kind=OutgoingKind.ACKNOWLEDGEMENT)
    )

    assert fake.calls == []


async def test_429_is_retry_later_with_slacks_delay(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    fake.answer_next(
        "chat.postMessage",
        Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
    )

    with pytest.raises(RetryLater) as caught:
        await connector.send(message(HELLO, target()))

    assert (caught.value.reason, caught.value.retry_after) == ("chat.postMessage: rate limited", 7)


@pytest.mark.parametrize(
    ("answer", "error", "reason"),
    [
        (Answer(200, {"ok": False, "error": "is_archived"}), Undeliverable, "is_archived"),
        (Answer(200, {"ok": False, "error": "internal_error"}), DeliveryError, "internal_error"),
        (Answer(503, "upstream unavailable"), DeliveryError, None),
    ],
)
async def test_failures_are_reported_as_the_outbox_expects(
    connector: SlackConnector,
    fake: FakeSlack,
    answer: Answer,
    error: type[DeliveryError],
    reason: str | None,
) -> None:
    fake.answer_next("chat.postMessage", answer)

    with pytest.raises(DeliveryError) as caught:
        await connector.send(message(HELLO, target()))

    assert type(caught.value) is error
    if reason is not None:
        assert caught.value.reason == f"chat.postMessage: {reason}"


async def test_unreachable_slack_is_a_delivery_error(
    session: aiohttp.ClientSession, clock: FakeClock, database: Database
) -> None:
    async with FakeSlack() as gone:
        url = gone.api_url
    web = AsyncWebClient(
        token=BOT_TOKEN, base_url=url, session=session, timeout=2, retry_handlers=[]
    )
    connector = SlackConnector(
        web,
        session=session,
        clock=clock,
        gate=unpaced_gate(database, clock),
        subjects=ThreadSubjects(StateStore()),
        timeout=2,
        log=logging.getLogger("test"),
    )

    with pytest.raises(DeliveryError, match=r"^chat.postMessage: ClientConnectorError$"):
        await connector.send(message(HELLO, target()))


async def test_a_command_error_is_shown_only_to_the_asker(
    connector: SlackConnector, fake: FakeSlack, clock: FakeClock
) -> None:
    await connector.send(message(ERROR, command_target(fake, clock)))

    assert fake.calls_to("chat.postEphemeral") == [
        {"channel": "C111", "user": "U1", **render_reply(ERROR).payload()}
    ]


async def test_a_later_error_to_a_slash_commands_place_is_for_the_channel(
    connector: SlackConnector, fake: FakeSlack, clock: FakeClock
) -> None:
    failed = Reply(title="CI failed: acme/web#12", status=Status.ERROR)
    result = Outgoing(
        target=command_target(fake, clock), reply=failed, key="run:7:origin:3", invocation_id="1"
    )

    await connector.send(result)

    assert fake.calls_to("chat.postMessage") == [
        {"channel": "C111", **render_reply(failed).payload()}
    ]
    assert fake.calls_to("chat.postEphemeral") == []


@pytest.mark.parametrize(("reply", "kind"), [(HELLO, "in_channel"), (ERROR, "ephemeral")])
async def test_where_the_bot_cannot_post_the_response_url_answers(
    connector: SlackConnector, fake: FakeSlack, clock: FakeClock, reply: Reply, kind: str
) -> None:
    method = "chat.postMessage" if kind == "in_channel" else "chat.postEphemeral"
    fake.answer_next(method, Answer(200, {"ok": False, "error": "not_in_channel"}))

    await connector.send(message(reply, command_target(fake, clock)))

    assert fake.responses == [("r1", {"response_type": kind, **render_reply(reply).payload()})]


async def test_an_expired_response_url_is_not_used(
    connector: SlackConnector, fake: FakeSlack, clock: FakeClock
) -> None:
    to = command_target(fake, clock)
    clock.advance(30 * 60)
    fake.answer_next("chat.postMessage", Answer(200, {"ok": False, "error": "channel_not_found"}))

    with pytest.raises(Undeliverable, match=r"^chat.postMessage: channel_not_found$"):
        await connector.send(message(HELLO, to))

    assert fake.responses == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(404, "used_url"), Undeliverable),
        (Answer(429, "rate limited", {"Retry-After": "3"}), RateLimited),
        (Answer(500, "oops"), DeliveryError),
    ],
)
async def test_response_url_failures_are_reported(
    connector: SlackConnector,
    fake: FakeSlack,
    clock: FakeClock,
    answer: Answer,
    error: type[DeliveryError],
) -> None:
    fake.answer_next("chat.postMessage", Answer(200, {"ok": False, "error": "not_in_channel"}))
    fake.answer_next("response_url", answer)

    with pytest.raises(DeliveryError) as caught:
        await connector.send(message(HELLO, command_target(fake, clock)))

    assert type(caught.value) is error


async def test_a_top_level_reply_with_a_subject_remembers_its_thread(
    connector: SlackConnector, fake: FakeSlack, clock: FakeClock
) -> None:
    await connector.send(message(HELLO, command_target(fake, clock, subject="acme/web#12")))

    [posted] = fake.calls_to("chat.postMessage")
    assert posted["channel"] == "C111"
    assert await ThreadSubjects(StateStore()).recall("C111", "1700000000.000001") == "acme/web#12"


async def test_group_grants_use_the_users_slack_groups_cached_briefly(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    clock = FakeClock()
    fake.usergroups = [{"id": "S1", "users": ["U1", "U2"]}, {"id": "S2", "users": ["U2"]}]
    permissions = PermissionsSettings(
        grants=(PermissionGrant(level=Level.WRITE, platform="slack", groups=("S2",)),)
    )
    web = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, session=session)
    authorizer = SlackGroupAuthorizer(web, permissions, clock=clock, cache_seconds=60)
    user1 = Actor(platform=Platform.SLACK, id="U1", name="one")
    user2 = Actor(platform=Platform.SLACK, id="U2", name="two")

    levels = [await authorizer.level_for(user1, None), await authorizer.level_for(user2, None)]
    cached_calls = len(fake.calls_to("usergroups.list"))
    clock.advance(61)
    fake.usergroups = []
    after_expiry = await authorizer.level_for(user2, None)

    assert levels == [Level.READ, Level.WRITE]
    assert cached_calls == 1
    assert after_expiry is Level.READ
    assert fake.calls_to("usergroups.list") == [{"include_users": "true"}] * 2


async def test_without_group_grants_no_lookup_is_made(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    permissions = PermissionsSettings(
        grants=(PermissionGrant(level=Level.ADMIN, platform="slack", users=("U1",)),)
    )
    web = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, session=session)
    authorizer = SlackGroupAuthorizer(web, permissions, clock=FakeClock(), cache_seconds=60)

    level = await authorizer.level_for(Actor(platform=Platform.SLACK, id="U1", name="one"), None)

    assert level is Level.ADMIN
    assert fake.calls == []
