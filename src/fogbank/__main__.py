"""`python -m fogbank` is the `fogbank` command."""

import sys

from fogbank.cli import main

sys.exit(main())
