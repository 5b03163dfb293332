"""What a typed shell line means: chat prefixes stripped, exit words recognised."""

from __future__ import annotations

import pytest

from connectors.shell.protocol import command_text, is_exit, prefixes_for

PREFIXES = prefixes_for("chatops", "/chatops")


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("ping\n", "ping"),
        ("@chatops ping", "ping"),
        ("  @ChatOps   status acme/web#12 ", "status acme/web#12"),
        ("/chatops help ping", "help ping"),
        ("@chatops", ""),
        ("@chatopsy ping", "@chatopsy ping"),
        ("/deploy ping", "/deploy ping"),
        ("ping @chatops", "ping @chatops"),
    ],
)
def test_command_text_strips_one_leading_mention_or_slash_command(line: str, text: str) -> None:
    assert command_text(line, PREFIXES) == text


def test_prefixes_include_a_renamed_slack_command_once() -> None:
    assert prefixes_for("shipit", "/shipit") == ("@shipit", "/shipit")
    assert prefixes_for("shipit", "/ops") == ("@shipit", "/shipit", "/ops")


@pytest.mark.parametrize(
    ("line", "leaves"),
    [("exit", True), ("QUIT\n", True), (" exit ", True), ("exit now", False), ("help exit", False)],
)
def test_exit_and_quit_alone_end_the_session(line: str, leaves: bool) -> None:
    assert is_exit(line) is leaves
