"""GitHub: commands from pull request and issue comments, replies as comments.

Modules, each with one job:

- ``signatures``: ``X-Hub-Signature-256`` checks (SHA-256 only, constant time).
- ``events``: a verified delivery decoded into invocations, installation changes or
  a reason to ignore it. Pure.
- ``webhook``: the ``POST /webhooks/github`` handler: cap, verify, decode, persist, 202.
- ``hooks``: per-hook secrets written by ``chatops github setup-repo``.
- ``auth``: a fixed token, or a GitHub App's cached installation tokens.
- ``installations``: which App installation covers a repository.
- ``client``: the REST calls the bot makes, over gidgethub, writes serialized.
- ``errors``: API failures mapped onto the outbox's retry decisions.
- ``connector``: the sender: replies as comments (marker-tagged), 👀 acknowledgements.
- ``permissions``: levels from repository permissions, cached, failing closed.
- ``recovery``: App mode: ask GitHub to redeliver failed deliveries.
- ``setup``: ``chatops github setup-repo``: a repository webhook with its own secret.
- ``integration``: wires the above into the application.
"""
