"""Run every benchmark one after another and say which met its targets (``make bench``).

Each benchmark prints its own side-by-side measurements and exits non-zero when a target is missed.
Run them on a quiet machine: they compare wall times, and other work on the two cores skews them.

    python benchmarks/run_all.py                 # all of them (about 20 minutes on 2 cores)
    python benchmarks/run_all.py suggest trials  # the ones whose names contain these words
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# cheapest first, so a quick failure shows early
ORDER = ["suggest", "range_test", "trials", "trial_grid", "notebooks", "grading"]


def main(argv: list[str]) -> int:
    wanted = [name for name in ORDER if not argv or any(word in name for word in argv)]
    if not wanted:
        print(f"run_all: no benchmark matches {argv}; choose from {ORDER}", file=sys.stderr)
        return 2
    results = []
    for name in wanted:
        script = HERE / f"bench_{name}.py"
        print(f"\n=== {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], check=False).returncode
        results.append((name, code, time.perf_counter() - started))
    print("\nbenchmark        result        wall")
    for name, code, seconds in results:
        print(f"{name:<16} {'met' if code == 0 else 'MISSED (' + str(code) + ')':<13} {seconds:6.0f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
