"""CI secrets hygiene, platform-blind: inventory, references, audit classes and expiry alerts.

The forge clients list secrets (names and dates, never values) and CI files
(``bot.forge.ForgeClient.secrets`` / ``ci_files`` / ``latest_runs``); the store keeps what
the forges do not know (``bot.secrets.store``: expiry dates, owners, last uses, sent alerts,
in the tables of ``bot.secrets.models``).
The modules here join the two; ``commands/secrets_audit.py`` and ``commands/secret_tracking.py``
answer users, and the expiry-alert job speaks through the outbox.
"""
