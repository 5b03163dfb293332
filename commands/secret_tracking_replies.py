"""The pieces of the secret-tracking replies that more than one command shares. Pure.

``Secret`` is what a command is about (forge, repository in lower case, name) and how a
reply names it. The functions word when alerts come, how an expiry date changed, the
expiry and owner fields, the rotation link, a moment in UTC, and the two refusals: not
tracked (``untrack``, ``ack``, ``snooze``) and tracked without an expiry date (``ack``,
``snooze``). Each refusal says the ``secrets track`` line that would fix it. No secret
value is ever part of a reply: names, dates, owners and links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.messages import Field, Forge, Link, Reply, Status
from bot.secrets.alert_replies import days_phrase, repo_option
from bot.secrets.settings import SecretsSettings
from bot.secrets.store import Tracked


@dataclass(frozen=True, slots=True)
class Secret:
    """The secret a command is about: forge, repository (lower case) and name."""

    forge: Forge
    repo: str
    name: str

    @property
    def shown(self) -> str:
        return f"{self.name} in {self.repo}"

    @property
    def repo_option(self) -> str:
        return repo_option(self.forge, self.repo)


def when_alerted(settings: SecretsSettings, secret: Secret, days_left: int) -> str:
    thresholds = settings.thresholds_days
    before = [str(days) for days in thresholds if days > 0]
    parts = []
    if before:
        listed = before[0] if len(before) == 1 else f"{', '.join(before[:-1])} and {before[-1]}"
        parts.append(f"{listed} days before it expires")
    if 0 in thresholds:
        parts.append("on the day")
    when = " and ".join(parts)
    if days_left < 0:
        return (
            f"Channels subscribed to {secret.repo}'s alerts get one alert that it expired, "
            "on the next alert run."
        )
    return f"Channels subscribed to {secret.repo}'s alerts are warned {when}."


def change(previous: Tracked, expires_on: date) -> str:
    if previous.expires_on == expires_on:
        return f"Its expiry date stays {expires_on.isoformat()}."
    if previous.expires_on is None:
        return f"It had no expiry date; now it is {expires_on.isoformat()}."
    return (
        f"Its expiry date changed from {previous.expires_on.isoformat()} to "
        f"{expires_on.isoformat()}; alerts start afresh for the new date."
    )


def fields(tracked: Tracked, days_left: int) -> tuple[Field, ...]:
    assert tracked.expires_on is not None
    return (
        Field("expires", f"{tracked.expires_on.isoformat()} ({days_phrase(days_left)})"),
        Field("owner", tracked.owner or "not set"),
    )


def links(tracked: Tracked) -> tuple[Link, ...]:
    if tracked.rotate_url is None:
        return ()
    return (Link(f"Rotate {tracked.name}", tracked.rotate_url),)


def not_tracked(secret: Secret) -> Reply:
    return Reply(
        title=f"{secret.shown} is not tracked",
        status=Status.ERROR,
        paragraphs=(
            f"Say `secrets track {secret.name} {secret.repo_option} --expires YYYY-MM-DD` to "
            "track it.",
        ),
    )


def no_expiry(secret: Secret) -> Reply:
    return Reply(
        title=f"{secret.shown} has no expiry date",
        status=Status.ERROR,
        paragraphs=(
            "It gets no alerts, so there is nothing to acknowledge or snooze. Say "
            f"`secrets track {secret.name} {secret.repo_option} --expires YYYY-MM-DD` to set one.",
        ),
    )


def moment(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
