"""Crontab lines as crontab reads them, through the one parser that also runs the jobs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from bot.cron import CronError, parse, trigger

SUNDAY = 6  # datetime.weekday()


def _next_fires(line: str, count: int) -> list[datetime]:
    """The next ``count`` fire times after now (the real clock: no calendar date assumed)."""
    cron = trigger(line, "UTC")
    fires: list[datetime] = []
    moment: datetime | None = datetime.now(UTC)
    for _ in range(count):
        assert moment is not None
        moment = cron.get_next_fire_time(None, moment + timedelta(seconds=1))
        assert moment is not None
        fires.append(moment)
    return fires


@pytest.mark.parametrize("line", ["0 9 * * 0", "0 9 * * 7", "0 9 * * sun"])
def test_zero_seven_and_sun_all_fire_on_sunday_only(line: str) -> None:
    fires = _next_fires(line, 3)

    assert [f.weekday() for f in fires] == [SUNDAY] * 3
    assert [(f.hour, f.minute) for f in fires] == [(9, 0)] * 3
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(days=7)] * 2


def test_weekday_one_to_five_is_monday_to_friday() -> None:
    fires = _next_fires("30 8 * * 1-5", 10)

    assert sorted({f.weekday() for f in fires}) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("sun,3", "sun,wed"),
        ("0-6/3", "sun,wed,sat"),
    ],
)
def test_the_weekday_field_is_handed_to_the_scheduler_as_names(field: str, names: str) -> None:
    assert parse(f"0 9 * * {field}").day_of_week == names


def test_configuration_and_scheduler_refuse_the_same_lines() -> None:
    line = "0 9 * * 8"
    with pytest.raises(CronError) as refused:
        trigger(line, "UTC")
    with pytest.raises(ConfigError) as invalid:
        parse_config({"secrets": {"alert_cron": line}}, {}, base_dir=Path())

    assert str(refused.value) == "day-of-week field '8': 8 is outside 0-7"
    assert str(invalid.value) == "secrets.alert_cron: day-of-week field '8': 8 is outside 0-7"
