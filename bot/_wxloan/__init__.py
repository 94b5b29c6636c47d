"""wxloan · 微信借贷助手: the one name this project installs.

The design card keeps the layers as top-level folders (``bot/``, ``handlers/``,
``knowledge/``, ``storage/``); pyproject's ``package-dir`` installs them as
``wxloan.bot``, ``wxloan.handlers``, ``wxloan.knowledge`` and ``wxloan.storage``, so a
``pip install`` adds nothing to site-packages but ``wxloan`` (and its console script).
This folder is the root package itself; it holds no logic.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("wxloan")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0.0.0"
