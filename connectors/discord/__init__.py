"""The Discord connector: slash commands and mentions in; embeds out.

The five modules every platform has (``connectors``):

- ``protocol``: sans-I/O; signed interaction requests verified, interactions and gateway
  events into ``Invocation``s.
- ``render``: ``Reply`` into a message payload (one embed), escaped, within Discord's limits.
- ``client``: ``DiscordConnector``, the sender, and ``DiscordHTTP``, discord.py's REST
  client at a configurable address.
- ``inbound``: gateway frames and the HTTP interactions endpoint into the inbox.
- ``integration``: what ``[discord]`` installs: the gateway session or the endpoint, the
  connector, the command registration.

Supporting modules, one job each:

- ``definitions``: the slash command, generated from the router's commands. Pure.
- ``gate``: Discord's rate limits, shared by every replica through the store's rate gate.
- ``gateway``: the gateway session, held by one replica at a time.
- ``invite``: the OAuth2 URL that adds the bot to a server (``chatops discord invite-url``).
"""
