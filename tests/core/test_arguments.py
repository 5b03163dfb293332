"""Typed arguments bound from words: every failure names the argument."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.arguments import argument_specs, bind, usage_line
from bot.errors import UsageError
from bot.messages import Target, TargetKind


@dataclass(frozen=True, slots=True)
class TrackArgs:
    name: str = field(metadata={"metavar": "NAME"})
    repo: Target | None = field(default=None, metadata={"option": True, "metavar": "REPO"})
    days: int = field(default=30, metadata={"option": True, "metavar": "DAYS"})
    dry_run: bool = False


SPECS = argument_specs(TrackArgs)


def test_usage_line_is_generated_from_the_declaration() -> None:
    assert usage_line("secrets track", SPECS) == (
        "secrets track NAME [--repo REPO] [--days DAYS] [--dry-run]"
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["API_KEY"], TrackArgs(name="API_KEY")),
        (
            ["--days", "7", "API_KEY", "--repo=acme/web", "--dry-run"],
            TrackArgs(name="API_KEY", repo=Target(repo="acme/web"), days=7, dry_run=True),
        ),
        (
            ["X", "--repo", "acme/web#3"],
            TrackArgs(name="X", repo=Target("acme/web", TargetKind.PULL_REQUEST, 3)),
        ),
    ],
)
def test_words_bind_to_typed_values(words: list[str], expected: TrackArgs) -> None:
    assert bind(TrackArgs, SPECS, words) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "missing NAME"),
        (["A", "B"], "unexpected argument(s): B"),
        (["A", "--days"], "--days needs a value (DAYS)"),
        (["A", "--days", "soon"], "DAYS must be a whole number, not 'soon'"),
        (["A", "--color"], "unknown option --color"),
        (["A", "--dry-run=yes"], "--dry-run takes no value"),
    ],
)
def test_bad_words_raise_usage_errors_naming_the_argument(words: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        bind(TrackArgs, SPECS, words)
    assert caught.value.message == message


def test_unsupported_field_type_is_refused_at_declaration() -> None:
    @dataclass(frozen=True)
    class Bad:
        when: float

    with pytest.raises(TypeError, match=r"Bad.when: unsupported type <class 'float'>"):
        argument_specs(Bad)
