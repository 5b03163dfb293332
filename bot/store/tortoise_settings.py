"""Settings for Tortoise's own CLI, used only to write new migrations.

``make migrations`` runs ``tortoise -c bot.store.tortoise_settings.TORTOISE_ORM
makemigrations``; the autodetector compares the models with the migrations on
disk and needs no real database, so an in-memory SQLite URL is enough.
"""

from bot.store.database import tortoise_config

TORTOISE_ORM = tortoise_config("sqlite://:memory:")
