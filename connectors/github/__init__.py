"""GitHub: commands from pull request and issue comments, replies as comments.

The five modules every platform has (``connectors``):

- ``protocol``: ``X-Hub-Signature-256`` checks (SHA-256 only, constant time), and a
  verified delivery decoded into invocations, installation changes or a reason to ignore
  it. Pure.
- ``render``: a ``Reply`` as a comment body (Markdown, quoted command, hidden marker). Pure.
- ``client``: ``GitHubConnector``, the sender: replies as comments (marker-tagged), 👀
  acknowledgements.
- ``inbound``: the ``POST /webhooks/github`` handler: cap, verify, decode, persist, 202.
- ``integration``: wires the modules into the application.
- ``forge``: the ``ForgeClient`` for GitHub: pull requests, checks, Actions runs.

Supporting modules, each with one job:

- ``ci_events``: workflow runs and check suites read into ``bot.forge`` types. Pure.
- ``api``: ``GitHubClient``, the REST calls the bot makes, over gidgethub, writes serialized.
- ``errors``: API failures read for ``connectors.forge_errors``.
- ``hooks``: per-hook secrets written by ``chatops github setup-repo``.
- ``auth``: a fixed token, or a GitHub App's cached installation tokens.
- ``installations``: which App installation covers a repository.
- ``models``: the tables of ``hooks`` and ``installations``.
- ``permissions``: levels from repository permissions, cached, failing closed.
- ``ci_secrets``: the secrets inventory's reads (secrets, workflow files, latest runs).
- ``recovery``: App mode: ask GitHub to redeliver failed deliveries.
- ``setup``: ``chatops github setup-repo``: a repository webhook with its own secret.
- ``app_manifest``, ``create_app``: ``chatops github create-app``, the App manifest flow.
"""
