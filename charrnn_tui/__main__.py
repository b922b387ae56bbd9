"""`python -m charrnn_tui` is the `charrnn-tui` command."""

import sys

from .cli.main import main

sys.exit(main())
