"""wxloan's web layer: the WeChat webhook, the pipeline and the command line."""

from .app import create_app
from .config import Settings

__all__ = ["Settings", "create_app"]
