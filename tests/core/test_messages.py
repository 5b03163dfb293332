"""Core types survive the trip through the inbox and outbox as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.messages import (
    Actor,
    Field,
    Forge,
    Invocation,
    Level,
    Link,
    Place,
    Platform,
    Reply,
    ReplyTarget,
    Status,
    Table,
    Target,
    TargetKind,
)

text = st.text(max_size=40)
targets = st.builds(
    Target,
    repo=st.from_regex(r"[a-z]{1,8}/[a-z]{1,8}", fullmatch=True),
    kind=st.sampled_from(TargetKind),
    number=st.none() | st.integers(1, 10**6),
    forge=st.none() | st.sampled_from(Forge),
)
reply_targets = st.builds(
    ReplyTarget,
    platform=st.sampled_from(Platform),
    channel=text,
    thread=st.none() | text,
    message=st.none() | text,
    ephemeral_user=st.none() | text,
    extra=st.dictionaries(text, text, max_size=3).map(lambda d: tuple(sorted(d.items()))),
    place=st.none() | st.sampled_from(Place),
)
replies = st.builds(
    Reply,
    title=text,
    status=st.sampled_from(Status),
    paragraphs=st.tuples(text, text),
    fields=st.lists(st.builds(Field, text, text), max_size=3).map(tuple),
    table=st.none() | st.builds(Table, st.tuples(text, text), st.just((("a", "b"),))),
    links=st.lists(st.builds(Link, text, text), max_size=2).map(tuple),
    code=st.none() | text,
    ephemeral=st.booleans(),
)


def through_json(data: dict[str, object]) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(json.dumps(data))
    return decoded


@given(replies)
def test_reply_round_trips_through_json(reply: Reply) -> None:
    assert Reply.from_dict(through_json(reply.to_dict())) == reply


@given(reply_targets, st.none() | targets, text)
def test_invocation_round_trips_through_json(
    reply_to: ReplyTarget, target: Target | None, words: str
) -> None:
    invocation = Invocation(
        id="inv-1",
        platform=Platform.SLACK,
        actor=Actor(platform=Platform.SLACK, id="U1", name="Ada", groups=("S1", "S2")),
        text=words,
        reply_to=reply_to,
        delivery_key="T1:Ev1",
        received_at=datetime(2026, 11, 21, 12, 30, 1, 250000, tzinfo=UTC),
        target=target,
    )
    assert Invocation.from_dict(through_json(invocation.to_dict())) == invocation


@given(reply_targets)
def test_reply_target_round_trips_with_its_place(reply_to: ReplyTarget) -> None:
    assert ReplyTarget.from_dict(through_json(reply_to.to_dict())) == reply_to
    assert reply_to.place is not None


def test_a_reply_target_stored_without_a_place_gets_its_platforms_usual_one() -> None:
    stored = {"channel": "acme/web", "thread": "12", "extra": {}}
    places = {
        platform: ReplyTarget.from_dict({**stored, "platform": platform.value}).place
        for platform in Platform
    }
    assert places == {
        Platform.GITHUB: Place.THREAD,
        Platform.GITLAB: Place.THREAD,
        Platform.SLACK: Place.CHANNEL,
        Platform.DISCORD: Place.CHANNEL,
        Platform.SHELL: Place.SESSION,
    }


def test_target_text_forms() -> None:
    assert [
        str(Target(repo="acme/web", kind=TargetKind.PULL_REQUEST, number=12)),
        str(Target(repo="g/sub/p", kind=TargetKind.MERGE_REQUEST, number=5, forge=Forge.GITLAB)),
        str(Target(repo="acme/web")),
    ] == ["acme/web#12", "gitlab:g/sub/p!5", "acme/web"]


def test_levels_order_and_parse() -> None:
    assert Level.READ < Level.WRITE < Level.ADMIN
    assert [Level.parse(" Write "), str(Level.ADMIN)] == [Level.WRITE, "admin"]
