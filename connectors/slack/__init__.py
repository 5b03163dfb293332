"""The Slack connector: slash commands, mentions and direct messages in; Block Kit out.

Modules, one job each:

- ``protocol``: sans-I/O; Slack payloads into ``Invocation``s, Slack markup into plain text,
  delivery keys, and Web API failures into the pipeline's delivery errors.
- ``render``: ``Reply`` into Block Kit and fallback text, escaped and within Slack's limits.
- ``threads``: which forge target a thread the bot started is about.
- ``client``: ``SlackConnector``, the sender, on slack_sdk's ``AsyncWebClient``.
- ``groups``: user-group membership for permission grants, cached briefly.
- ``manifest``: the Slack app manifest ``chatops slack manifest`` prints.
- ``inbound``: the slack-bolt ``AsyncApp`` whose listeners feed the inbox, then ack.
- ``integration``: ``SlackIntegration``: the HTTP route or the Socket Mode connection, and
  the connector and authorizer registered at start-up.
"""
