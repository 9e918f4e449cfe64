"""`python -m devtools`: the demo's command line (see `devtools.cli`)."""

from devtools.cli import main

raise SystemExit(main())
