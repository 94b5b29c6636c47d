"""``python -m bot`` is the same as the ``wxloan`` command."""

import sys

from .cli import main

sys.exit(main())
