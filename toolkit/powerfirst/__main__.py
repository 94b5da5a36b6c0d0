"""`python -m powerfirst` runs the powerfirst command."""

from powerfirst.cli import main

raise SystemExit(main())
