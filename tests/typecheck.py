"""``python -m tests.typecheck``: mypy strict over the installed names (``wxloan.*``).

The folders install under one import name through setuptools' ``package-dir``, which
mypy cannot follow in an editable install; this lays out a temporary ``wxloan/`` of
symlinks to the folders and checks that, with the project's mypy settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("bot", "handlers", "knowledge", "storage")


def main() -> int:
    """Run mypy on the package; its exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "wxloan"
        package.mkdir()
        shutil.copy(ROOT / "bot" / "_wxloan" / "__init__.py", package / "__init__.py")
        for layer in LAYERS:
            (package / layer).symlink_to(ROOT / layer)
        env = {**os.environ, "MYPYPATH": tmp}
        command = [sys.executable, "-m", "mypy", "-p", "wxloan",
                   "--config-file", str(ROOT / "pyproject.toml"), *sys.argv[1:]]
        return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
