"""The CI feature: start, follow and report the CI runs that commands ask for.

``feature`` registers it with the app. ``tracker.RunTracker`` is what the rest of the bot
holds, and it only composes the parts: ``plan`` decides (pure, no I/O), ``start`` answers
``rescan`` and ``restart``, ``launch`` makes the forge calls that start CI, ``follow``
records what forge webhooks say, ``notices`` settles runs and tells everyone who waits,
``reconcile`` looks up runs no webhook has moved. ``records`` and ``store`` keep the runs
and who asked, in the tables of ``models``; ``replies`` says what happened; ``settings``
is the ``[ci]`` section.
Handlers in ``commands/`` (``status``, ``rescan``, ``restart``, ``update``) call into it;
the core knows nothing of CI.
"""
