"""`python -m bot` runs the command-line interface."""

from __future__ import annotations

from bot.cli import main

raise SystemExit(main())
