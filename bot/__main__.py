"""`python -m bot` runs the `chatops` command."""

from bot.cli import main

raise SystemExit(main())
