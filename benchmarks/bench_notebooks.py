"""Wall time of every solution notebook, run top to bottom as a student runs it.

Targets (issue 3): each notebook <= 60 s on 2 cores, the whole course <= 4 min; we aim for 30 s each.
The notebooks run unchanged (there is no fast mode), one after another, each in a fresh kernel, in a
scratch copy of the assignment folder. The slowest cells are listed so that a slow notebook says why.

    python benchmarks/bench_notebooks.py                 # all notebooks
    python benchmarks/bench_notebooks.py 02_sweep 04     # the ones whose names start with these
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = REPO_ROOT / "solutions" / "learning-rate"
PER_NOTEBOOK_TARGET = 60.0
AIM = 30.0
COURSE_TARGET = 240.0


class _TimedClient(NotebookClient):
    """Records the wall time of each cell as it runs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cell_times: list[tuple[float, str]] = []

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        start = time.perf_counter()
        result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        if cell.cell_type == "code":
            self.cell_times.append((time.perf_counter() - start, cell.get("id", str(cell_index))))
        return result


def _kernel_cpu_seconds(client) -> float:
    """CPU time the kernel process has used so far (user + system), or NaN if it cannot be read."""
    try:
        import psutil

        times = psutil.Process(client.km.provisioner.process.pid).cpu_times()
        return times.user + times.system
    except Exception:  # another provisioner, or psutil missing: the wall time still stands
        return float("nan")


class _CpuClient(_TimedClient):
    """Also reads the kernel's CPU time just before the kernel shuts down."""

    kernel_cpu = float("nan")

    async def _async_cleanup_kernel(self):
        self.kernel_cpu = _kernel_cpu_seconds(self)
        await super()._async_cleanup_kernel()


def run_notebook(path: Path, workdir: Path, save: Path | None = None):
    """Run ``path`` in ``workdir``; return wall time (kernel start included), kernel CPU seconds,
    cell times (slowest first) and problems (errors, stderr)."""
    notebook = nbformat.read(path, as_version=4)
    client = _CpuClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": workdir}}
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, save / path.name)
    problems = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                problems.append(f"{cell.id}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                problems.append(f"{cell.id}: stderr: {output.text.strip()[:200]}")
    return elapsed, client.kernel_cpu, sorted(client.cell_times, reverse=True), problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="notebook name prefixes (default: all)")
    parser.add_argument("--slowest", type=int, default=3, help="how many of the slowest cells to list")
    parser.add_argument("--save", type=Path, help="also write the executed notebooks (with outputs) here")
    args = parser.parse_args(argv)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    notebooks = sorted(SOURCE.glob("*.ipynb"))
    if args.names:
        notebooks = [path for path in notebooks if any(path.stem.startswith(name) for name in args.names)]
    if not notebooks:
        print(f"no notebooks matched in {SOURCE}")
        return 1
    print(f"{len(notebooks)} notebook(s), {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    print("(kernel CPU s: the kernel's own CPU time, a check on wall times taken on a busy machine)")
    print(f"{'notebook':<24}{'wall s':>8}{'/ 60 s':>8}{'CPU s':>8}  slowest cells (s)")
    total, total_cpu, failures = 0.0, 0.0, 0
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as scratch:
        workdir = Path(scratch) / "learning-rate"
        shutil.copytree(SOURCE, workdir)
        for path in notebooks:
            elapsed, cpu, cell_times, problems = run_notebook(workdir / path.name, workdir, args.save)
            total += elapsed
            total_cpu += cpu
            slowest = ", ".join(f"{cell_id} {seconds:.1f}" for seconds, cell_id in cell_times[: args.slowest])
            flag = "" if elapsed <= PER_NOTEBOOK_TARGET else "  OVER TARGET"
            print(
                f"{path.stem:<24}{elapsed:8.1f}{elapsed / PER_NOTEBOOK_TARGET:8.2f}{cpu:8.1f}  {slowest}{flag}"
            )
            for problem in problems:
                print(f"    problem: {problem}")
            failures += bool(problems) or elapsed > PER_NOTEBOOK_TARGET
    print(
        f"{'total':<24}{total:8.1f}{total / COURSE_TARGET:8.2f}{total_cpu:8.1f}  (of the {COURSE_TARGET:.0f} s course target; "
        f"mean {total / len(notebooks):.1f} s per notebook, aim {AIM:.0f} s)"
    )
    return 1 if failures or total > COURSE_TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
