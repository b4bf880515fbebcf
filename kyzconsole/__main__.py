"""`python -m kyzconsole` runs the command line."""

from kyzconsole.cli.main import main

raise SystemExit(main())
