"""Parallel sandboxed grading against sequential ``nbgrader autograde``, side by side in one run.

Stand-in for the assignment: one course notebook (``--notebook``, default ``02_sweep``: the lesson's
100-epoch "Tune the Learning Rate" sweep, about 17 s on 2 idle cores), submitted by ``--submissions``
students (default 8; each submits the solution notebook). Both sides grade the same submissions in their own copy of the course:

- ``nbgrader autograde learning-rate --force`` (one process, one submission after another);
- ``course grade --workers 2 --force`` (two grading processes, sandboxed kernels, one gradebook).

It also times the notebook executed plainly (nbclient, no nbgrader, no sandbox) and one submission
graded alone by ``course grade``, once before and once after the two batch runs (so that a drift in
the machine's load cancels), to report the per-submission overhead of the grading machinery; and
the speed-up the machine itself allows at the moment (``workers`` CPU-bound processes at once
against one after another), since shared cores may not deliver 2x to anyone.

    python benchmarks/bench_grading.py [--notebook 01_fixed_rate] [--submissions 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "learning-rate"
BIN = Path(sys.executable).parent
TARGET_SPEEDUP = 1.7


def _environment() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def _make_course(root: Path, notebook: Path, students: list[str]) -> None:
    from course_tools.notebook_format import generate_release

    (root / "solutions" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(notebook, root / "solutions" / ASSIGNMENT / notebook.name)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    generate_release(root / "solutions", root / "notebooks", config_file=root / "nbgrader_config.py")
    for student in students:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / notebook.name)


def _plain_execution(notebook: Path, workdir: Path) -> float:
    """Run the notebook once with nbclient in a fresh kernel: the work itself, nothing else."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(notebook), as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    started = time.perf_counter()
    client.execute()
    return time.perf_counter() - started


_SPIN = "sum(i * i for i in range(25_000_000))"


def parallel_ceiling(workers: int) -> float:
    """How much faster ``workers`` CPU-bound processes finish than one after another, right now.

    The cores are shared (other users, a hypervisor), so the best speed-up the machine allows at
    the moment is measured, not assumed: the same pure-Python loop, once alone, then ``workers``
    at once.
    """
    command = [sys.executable, "-c", _SPIN]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    alone = time.perf_counter() - started
    started = time.perf_counter()
    processes = [subprocess.Popen(command) for _ in range(workers)]
    for process in processes:
        process.wait()
    together = time.perf_counter() - started
    return workers * alone / together


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notebook", default="02_sweep", help="source notebook name (without .ipynb)")
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    sources = sorted((REPO / "solutions" / ASSIGNMENT).glob("*.ipynb"))
    if args.notebook:
        sources = [path for path in sources if path.stem == args.notebook]
    if not sources:
        print("no course notebook found in solutions/learning-rate", file=sys.stderr)
        return 2
    notebook = sources[0]
    students = [f"student-{index:02d}" for index in range(1, args.submissions + 1)]

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        scratch = Path(scratch)
        baseline, ours = scratch / "nbgrader", scratch / "course"
        _make_course(baseline, notebook, students)
        _make_course(ours, notebook, students)
        _timed([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], baseline)

        grade = [str(BIN / "course"), "grade", "--course-dir", str(ours), "--no-progress", "--force"]
        alone_summary = scratch / "alone.json"

        def alone() -> tuple[float, float]:
            """One submission graded by ``course grade``: (whole command, time inside the worker)."""
            command = [*grade, "--workers", "1", "--student", students[0], "--json", str(alone_summary)]
            total = _timed(command, ours)
            return total, json.loads(alone_summary.read_text())["rows"][0]["elapsed"]

        ceilings = [parallel_ceiling(args.workers)]
        _plain_execution(notebook, scratch)  # warm-up: file caches, TensorFlow's first import
        plain = [_plain_execution(notebook, scratch)]
        single = [alone()]

        sequential = _timed([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force"], baseline)
        summary = scratch / "summary.json"
        parallel = _timed([*grade, "--workers", str(args.workers), "--json", str(summary)], ours)
        rows = json.loads(summary.read_text())["rows"]
        bad = [row for row in rows if row["status"] != "graded" or row["score"] != row["max_score"]]
        if bad:
            print(f"warning: not every submission got full marks: {bad}", file=sys.stderr)

        single.append(alone())
        plain.append(_plain_execution(notebook, scratch))
        ceilings.append(parallel_ceiling(args.workers))

    plain_time = sum(plain) / len(plain)
    command_time = sum(total for total, _ in single) / len(single)
    job = sum(inside for _, inside in single) / len(single)
    speedup = sequential / parallel
    print(f"stand-in for the assignment: {notebook.name} (one notebook), {len(students)} submissions")
    print(f"{'plain execution of the notebook (nbclient), mean of 2':<55} {plain_time:8.1f} s")
    print(f"{'sequential nbgrader autograde, all submissions':<55} {sequential:8.1f} s")
    print(f"{f'course grade --workers {args.workers}, all submissions':<55} {parallel:8.1f} s")
    print(f"{'speed-up (nbgrader / course grade)':<55} {speedup:8.2f} x   (target >= {TARGET_SPEEDUP})")
    overhead_nbgrader = sequential / len(students) - plain_time
    print(f"{'nbgrader per submission, over plain execution':<55} {overhead_nbgrader:+8.1f} s")
    print(f"{'course grade, one submission in its worker, mean of 2':<55} {job:8.1f} s")
    print(f"{'  overhead over plain execution (sandbox, copies, checks)':<55} {job - plain_time:+8.1f} s")
    print(f"{'  plus starting the command, its worker pool, the merge':<55} {command_time - job:+8.1f} s")
    ceiling = sum(ceilings) / len(ceilings)
    print(
        f"{'this machine now: CPU-bound processes in parallel, best':<55} {ceiling:8.2f} x   (before/after)"
    )
    print(f"{'  speed-up as a share of that ceiling':<55} {speedup / ceiling:8.0%}")
    print("PASS" if speedup >= TARGET_SPEEDUP else "BELOW TARGET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
