"""What the pipeline asks of a connector to deliver a reply, and how it fails.

The sender calls ``Connector.send`` for each outbox row. A connector renders
the ``Reply`` for its platform and makes the API call; it reports failure only
through the exceptions below, so the sender can decide between waiting,
retrying and giving up without knowing the platform.

Error tree::

    DeliveryError                 a send did not happen; retry with backoff
    ├── RetryLater                the platform said when to come back (Retry-After)
    │   └── RateLimited           a rate limit (429, secondary 403, a closed gate): retry
    │                             after the wait, and the attempt does not count
    └── Undeliverable             retrying cannot help (channel gone, 400); dead-letter now

Anything else a connector raises is treated as a ``DeliveryError``.
"""

from __future__ import annotations

from typing import Protocol

from bot.messages import Outgoing, Platform


class DeliveryError(Exception):
    """A send failed in a way that may succeed later."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(DeliveryError):
    """The platform asked us to wait ``retry_after`` seconds before trying again."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RateLimited(RetryLater):
    """A rate limit stopped the send before the platform looked at it.

    The message itself is fine, so the attempt is not counted towards the dead-letter
    limit: a long rate-limit window delays replies, it never loses them.
    """


class Undeliverable(DeliveryError):
    """The message can never be delivered as it is; it goes to the dead letters."""


class Connector(Protocol):
    """The sending half of a platform connector."""

    @property
    def platform(self) -> Platform: ...

    async def send(self, message: Outgoing) -> None:
        """Deliver one message, or raise a ``DeliveryError``."""
        ...
