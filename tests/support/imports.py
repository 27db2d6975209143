"""What an import costs: the heavy modules a fresh interpreter loads to run a few lines."""

from __future__ import annotations

import ast
import subprocess
import sys

HEAVY = ("numpy", "tensorflow", "keras", "jupyter_client", "nbgrader")


def heavy_modules_loaded_by(code: str, heavy=HEAVY) -> list[str]:
    """Run ``code`` in a fresh Python; return which of ``heavy`` it imported, sorted."""
    script = f"import sys\n{code}\nprint(sorted(name for name in {tuple(heavy)!r} if name in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])
