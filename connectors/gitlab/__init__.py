"""GitLab: commands from merge request and issue notes, replies as notes, CI via pipelines.

The five modules every platform has (``connectors``):

- ``protocol``: ``X-Gitlab-Token`` (constant time, several for rotation) and the optional
  signing token (``webhook-signature``), and a verified delivery decoded into
  invocations, a CI update or a reason to ignore it. Pure.
- ``render``: a ``Reply`` as a note body (Markdown, quoted command, hidden marker). Pure.
- ``client``: ``GitLabConnector``, the sender: replies as notes (marker-tagged, sticky), 👀
  award emoji.
- ``inbound``: the ``POST /webhooks/gitlab`` handler: token, cap, decode, persist, 200.
- ``integration``: wires the modules into the application.
- ``forge``: the ``ForgeClient`` for GitLab: merge requests, pipelines, jobs.

Supporting modules, each with one job:

- ``ci_events``: pipeline events and REST pipelines read into ``bot.forge`` types. Pure.
- ``ci_secrets``: the secrets inventory's reads (variables, CI files, latest pipeline).
- ``api``: gidgetlab over our aiohttp session; the one seam tests point at the fake.
- ``errors``: API failures read for ``connectors.forge_errors``.
- ``permissions``: levels from project access levels, cached, failing closed.
- ``setup``: ``chatops gitlab setup-project``: the project webhook.
"""
