"""Outbox keys: built in one place, distinct by kind, and never longer than the column."""

from __future__ import annotations

from bot.pipeline.keys import (
    MAX_KEY,
    acknowledgement_key,
    followup_key,
    notice_key,
    reply_key,
    run_origin_key,
    run_subscriber_key,
    run_summary_key,
    secret_alert_key,
)


def test_each_kind_of_message_has_its_own_key() -> None:
    keys = [
        reply_key("abc"),
        acknowledgement_key("abc"),
        followup_key("summary", "abc"),
        notice_key("github:issue_comment:7"),
        notice_key("github:issue_comment:7", 2),
        notice_key("github:issue_comment:7", "rest"),
        run_summary_key(5),
        run_subscriber_key(5, 9),
        run_origin_key(5, 9),
        secret_alert_key(5, 9),
    ]
    assert keys == [
        "reply:abc",
        "ack:abc",
        "summary:abc",
        "notice:github:issue_comment:7",
        "notice:github:issue_comment:7:2",
        "notice:github:issue_comment:7:rest",
        "run:5:summary",
        "run:5:sub:9",
        "run:5:origin:9",
        "secret-alert:5:sub:9",
    ]


def test_a_key_from_a_long_platform_id_is_bounded_stable_and_still_unique() -> None:
    long_a = "x" * 400 + "a"
    long_b = "x" * 400 + "b"

    key_a, key_b = notice_key(long_a), notice_key(long_b)

    assert (len(key_a), len(key_b)) == (MAX_KEY, MAX_KEY)
    assert key_a != key_b
    assert key_a == notice_key(long_a)
    assert key_a.startswith("notice:xxxx")
    assert notice_key("x" * (MAX_KEY - len("notice:"))) == "notice:" + "x" * (MAX_KEY - 7)
