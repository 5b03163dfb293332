"""The secrets feature as one value: its commands, the expiry alerts, the usage API.

``setup`` gives the ``secrets`` commands the ``[secrets]`` settings; adds the
expiry-alert job (``secret-expiry-alerts``, on ``secrets.alert_cron`` and once at
start-up; see ``bot.secrets.alerts``); serves ``POST /api/usage``, where CI reports the
secrets a pipeline used (``bot.secrets.usage_api``); and, at start-up, records the
``[[secrets.tracked]]`` expiry dates in the registry (``bot.secrets.tracked_config``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.store import ChannelDefaults, Subscriptions
from bot.features import FeatureHost, Provided
from bot.parts import Route
from bot.secrets.alert_store import SecretAlerts
from bot.secrets.alerts import expiry_alert_schedule
from bot.secrets.inventory import SecretStores
from bot.secrets.store import SecretRegistry, SecretUses
from bot.secrets.tracked_config import sync_tracked_config
from bot.secrets.usage_api import PATH as USAGE_PATH
from bot.secrets.usage_api import build_usage_api
from commands import secret_tracking, secrets_audit


@dataclass(frozen=True, slots=True)
class SecretsFeature:
    name: str = "secrets"
    section: str | None = "secrets"

    def setup(self, host: FeatureHost) -> Provided:
        settings, clock, log = host.config.secrets, host.clock, host.log
        usage = build_usage_api(settings.usage_tokens, clock, log.getChild("usage"))

        registry, defaults = SecretRegistry(), ChannelDefaults()
        stores = SecretStores(registry, SecretUses())

        async def startup() -> None:
            await sync_tracked_config(registry, settings, clock.now(), log)

        return Provided(
            commands=(
                *secret_tracking.commands(settings, registry, SecretAlerts(registry), defaults),
                *secrets_audit.commands(settings, stores, Subscriptions(), defaults),
            ),
            jobs=(expiry_alert_schedule(settings, clock, log, host.wake),),
            routes=(Route("POST", USAGE_PATH, usage.handle),),
            startup=startup,
        )
