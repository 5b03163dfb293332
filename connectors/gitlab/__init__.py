"""GitLab: commands from merge request and issue notes, replies as notes, CI via pipelines.

Modules, each with one job:

- ``tokens``: ``X-Gitlab-Token`` (constant time, several for rotation) and the optional
  signing token (``webhook-signature``). Pure.
- ``events``: a verified delivery decoded into invocations, a CI update or a reason to
  ignore it. Pure.
- ``ci_events``: pipeline events and REST pipelines read into ``bot.forge`` types. Pure.
- ``webhook``: the ``POST /webhooks/gitlab`` handler: token, cap, decode, persist, 200.
- ``client``: gidgetlab over our aiohttp session; the one seam tests point at the fake.
- ``errors``: API failures mapped onto the outbox's retry decisions and forge errors.
- ``connector``: the sender: replies as notes (marker-tagged, sticky), 👀 award emoji.
- ``permissions``: levels from project access levels, cached, failing closed.
- ``forge``: the ``ForgeClient`` for GitLab: merge requests, pipelines, jobs, variables.
- ``integration``: wires the above into the application.
"""
