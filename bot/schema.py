"""The tables the migrations build: the core's and the built-in features'.

Every table belongs to one Tortoise app, ``chatops``, with one history of migrations
(``bot.store.migrations``). The models live with the code that owns them: the core's in
``bot.store.models``, each built-in feature's in its package's ``models`` module, and the
GitHub connector's (its webhook secrets and App installations) in
``connectors.github.models``. ``MODEL_MODULES`` names those modules for Tortoise.

It holds names, not imports: ``bot.store.database`` takes the model modules as a
parameter and defaults to this tuple, so the core store imports no feature, and
Tortoise imports the modules only when the database opens (``chatops migrate`` then loads
the models and nothing else of a feature). The feature values (``bot.features``) do not
carry their models: the migrations are one history for the core and the built-in
features together, so a plugin cannot bring tables into it; one with tables would need
its own app and migrations.

Invariants:
- It names exactly the modules of ``bot``, ``connectors`` and ``commands`` that define a
  model, the core's first (``tests/core/test_schema.py``).
- Moving a model between these modules changes no table: the app label, model names and
  table names stay, and ``make migrations`` finds nothing to write
  (``tests/store/test_migrations.py``).
"""

from __future__ import annotations

MODEL_MODULES: tuple[str, ...] = (
    "bot.store.models",
    "bot.ci.models",
    "bot.channels.models",
    "bot.secrets.models",
    "connectors.github.models",
)
