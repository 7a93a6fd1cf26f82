"""``python -m dlscratch.cli ...``: the same as the ``dlscratch`` command."""

import sys

from . import main

sys.exit(main())
