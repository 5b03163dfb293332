"""The shell: ``chatops shell``, one local user typing commands, replies printed as text.

The five modules every platform has (``connectors``), where they apply:

- ``protocol``: what a typed line means (a chat-style prefix dropped, ``exit``). Pure.
- ``render``: a ``Reply`` as plain text. Pure.
- ``client``: ``ShellConnector``, the sender: prints each reply to a stream.
- ``inbound``: ``ShellSession``, each line through the real pipeline, reply awaited.
- no ``integration``: the shell is started by ``chatops shell`` (``bot.cli_shell``), not
  by ``serve``.

Supporting module: ``terminal``, line editing and history on an interactive terminal.
"""
