"""Connectors: one package per chat platform or forge, each made of the same modules.

Adding a platform
-----------------

A new platform is a package ``connectors/<platform>/`` with these modules, each meaning
the same thing in every package:

- ``protocol.py``: sans I/O. Verify a request (signature, token, timestamp), decode the
  platform's payloads into our types (``Invocation``, or the reason an event is ignored),
  read its rate-limit answers. No network, no database, no clock (times are passed in).
- ``render.py``: ``Reply`` to the platform's native message (Markdown, Block Kit, an
  embed, plain text). Pure; every piece of reply text is escaped, so echoed input never
  pings anyone, and the result stays within the platform's limits.
- ``client.py``: the connector that sends (``platform`` and ``send(Outgoing)``), thin I/O
  on the platform's client library. Every failure leaves as a ``bot.pipeline.delivery``
  error: ``RateLimited``, ``RetryLater``, ``Undeliverable`` or ``DeliveryError``.
- ``inbound.py``: the route handlers or the socket loop that feed the host's intake
  (``bot.pipeline.intake.Intake``: ``submit``, ``submit_event``, ``notify``) and answer
  the platform within its deadline; no command runs before that answer.
- ``integration.py``: the package's one exported value, an ``Integration``
  (``bot.platforms``) built from its settings without I/O, whose ``start(host)`` async
  context manager opens the clients on the typed ``PlatformHost`` (clock, logger, HTTP
  session, database, configuration, intake, CI-event sink, rejection counter) and yields
  ``PlatformParts``: its connector, authorizer, forge client, scheduled jobs, routes and
  readiness check. A socket that feeds the intake opens after ``host.intake.opened()``.
- ``forge.py`` (forges only): the ``bot.forge.ForgeClient`` that handlers use.

Then two edits outside the package: a settings section (``bot/config/platforms/``, with
its ``Platform`` value in ``bot.messages``), and one branch in
``connectors.enabled.enabled_integrations`` that builds the integration when the section
is enabled (importing the package there, so a disabled platform is never imported).

Other modules in a package support these, one job each (``permissions``, ``auth``,
``setup``, ``ci_events`` ...). Shared by every package: ``budget`` (commands per event),
``rejections`` (refusals counted and logged), ``rate_limits`` (waits read from headers);
by the forges: ``forge_errors`` (what an API failure means), ``webhook_body`` (capped,
timed reads of unverified bodies) and ``markdown`` (replies as forge Markdown).

Duplicates on retry
-------------------

Every platform delivers at least once, and so does the outbox; a retry on either side must
never make a second answer. The rule every connector follows:

- Inbound, key each invocation by the platform's id of what the user did, never by the
  delivery or the attempt: the comment (``github:issue_comment:<id>:<n>``), the note
  (``gitlab:note:<id>:<n>``), the event or the slash command's trigger
  (``slack:<team>:<event_id>``), the message or the interaction
  (``discord:message:<id>``); ``:<n>`` is the command's line, and notices are keyed
  ``notice:<that key>...``. A redelivery, a replay under a new delivery id, a platform
  retry (``X-Slack-Retry-Num``, a gateway resume) or two hooks subscribed to one event then
  meet the inbox's unique key and insert nothing. So when storing fails, answer so that
  the platform retries, where it does (a 5xx, no Socket Mode ack).
- Outbound, a retried send (``Outgoing.attempt`` > 1) must not post twice: make the write
  idempotent (Discord edits ``@original``, or sends a ``nonce`` made from the outbox key
  with ``enforce_nonce``), or first look for the bot's own post carrying the outbox key
  (the forges' hidden marker, on posts by the bot's own account only) and edit or skip it.
  Where the platform offers neither (Slack's ``chat.postMessage``), the connector says so
  in its docstring, and repeats a send only when no answer arrived.
"""
