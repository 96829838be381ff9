"""`python -m bot`: the same as the `helpdesk` command."""

from bot.cli import main

raise SystemExit(main())
