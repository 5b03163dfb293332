"""The CI feature: start, follow and report the CI runs that commands ask for.

``tracker`` starts runs (re-run, dispatch), follows them from forge webhooks and
reconciles stuck ones; ``replies`` says what happened; ``store`` keeps the runs and who
asked; ``settings`` is the ``[ci]`` section. Handlers in ``commands/`` (``status``,
``rescan``, ``restart``, ``update``) call into it; the core knows nothing of CI.
"""
