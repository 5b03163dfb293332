"""A connector for pipeline tests: records what it sends and fails on a script.

It stands in for a platform at the ``Connector`` seam only; the platforms'
own fakes (real aiohttp servers) live beside it as connectors arrive.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.messages import Outgoing, Platform
from bot.pipeline.delivery import DeliveryError


class RecordingConnector:
    """Sends succeed unless a failure is queued; each queued failure is raised once."""

    def __init__(self, platform: Platform = Platform.SHELL) -> None:
        self._platform = platform
        self.sent: list[Outgoing] = []
        self.attempts: list[str] = []
        self._failures: list[DeliveryError] = []
        self._always: DeliveryError | None = None

    @property
    def platform(self) -> Platform:
        return self._platform

    def fail_next(self, failures: Iterable[DeliveryError]) -> None:
        self._failures.extend(failures)

    def fail_always(self, failure: DeliveryError) -> None:
        self._always = failure

    async def send(self, message: Outgoing) -> None:
        self.attempts.append(message.key)
        if self._always is not None:
            raise self._always
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append(message)
