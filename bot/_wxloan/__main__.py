"""``python -m wxloan`` is the same as the ``wxloan`` command."""

import sys

from wxloan.bot.cli import main

sys.exit(main())
