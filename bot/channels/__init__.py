"""The channels feature: which chat channels follow which repositories, and their defaults.

``store`` keeps subscriptions (a channel follows a repository's runs, alerts or both) and
channel defaults (``use OWNER/REPO``), in the tables of ``models``. The ``subscribe``
family of commands and the features that notify channels (CI results, secret expiry
alerts) read it.
"""
