"""`python -m gateway.cli`: the `lianxin` console script."""

import sys

from gateway.cli.entry import main

sys.exit(main())
