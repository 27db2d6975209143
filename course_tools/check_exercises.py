"""Check that every exercise grades the idea it teaches: ``course check-exercises``.

An exercise's tests are only as good as the wrong answers they catch. For each notebook, a corpus
file ``solutions/<notebook>.answers.toml`` lists candidate answers to its exercises:

- ``wrong``: a mistake students really make; the tests must fail, with a message that names the
  concept (one of the entry's ``concept`` words);
- ``shortcut``: one call of a course helper; the tests must fail (the helpers are switched off
  while a test runs the student's code: :mod:`course_utils.exercise`);
- ``correct``: a right answer written differently from the solution; the tests must pass.

The checker runs each source notebook once, top to bottom, in one kernel. At every exercise, after
the reference answer and its test have run, it tries each candidate: the candidate's code in place
of the answer cell, then the test cell's visible part, then its hidden part, and puts the kernel's
variables back afterwards (names, NumPy arrays, Keras models' weights and optimizer state). So a
candidate sees exactly the state a student's answer would see, and one candidate cannot spoil the
next. The same run checks the corpus's ``[[claims]]``: numbers written in the notebook's prose
against the values its cells print.
"""

from __future__ import annotations

import queue
import re
import textwrap
import time
import tomllib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

KINDS = ("wrong", "shortcut", "correct")
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SHORTCUT_CONCEPT = ("write this yourself",)
#: The share of failure messages that must name their concept.
MIN_NAMED = 0.9

# Runs in the kernel: save and put back what a candidate could change.
_KERNEL_STATE = textwrap.dedent(
    '''
    def _checker_snapshot(namespace):
        """What a candidate may change: bindings, arrays, containers, models, histories."""
        import copy
        import sys

        import numpy as np

        keras = sys.modules.get("keras")  # only a kernel that uses Keras has models to save
        state = {"names": {}, "arrays": [], "lists": [], "dicts": [], "models": [], "histories": []}
        for name, value in namespace.items():
            if name.startswith("_") or name in ("In", "Out", "exit", "quit", "get_ipython"):
                continue
            state["names"][name] = value
            if isinstance(value, np.ndarray) and value.flags.writeable:
                state["arrays"].append((value, value.copy()))
            elif isinstance(value, list):
                state["lists"].append((value, list(value)))
            elif isinstance(value, dict):
                state["dicts"].append((value, dict(value)))
            elif keras is not None and isinstance(value, keras.Model):
                optimizer = getattr(value, "optimizer", None)
                variables = list(getattr(optimizer, "variables", []) or []) if optimizer is not None else []
                state["models"].append(
                    (value, value.get_weights(), [(v, np.array(v.numpy())) for v in variables])
                )
            elif keras is not None and isinstance(value, keras.callbacks.History):
                state["histories"].append((value, copy.deepcopy(value.history)))
        return state


    def _checker_restore(namespace, state):
        for name in [n for n in namespace if not n.startswith("_") and n not in state["names"]]:
            if name not in ("In", "Out", "exit", "quit", "get_ipython"):
                del namespace[name]
        namespace.update(state["names"])
        for array, saved in state["arrays"]:
            if array.shape == saved.shape:
                array[...] = saved
        for values, saved in state["lists"]:
            values[:] = saved
        for mapping, saved in state["dicts"]:
            mapping.clear()
            mapping.update(saved)
        for model, weights, variables in state["models"]:
            try:
                model.set_weights(weights)
                for variable, value in variables:
                    variable.assign(value)
            except Exception:  # a candidate rebuilt the model's layers: the binding is restored anyway
                pass
        for history, saved in state["histories"]:
            history.history = saved
        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except ImportError:
            pass
    '''
)


@dataclass(frozen=True)
class Candidate:
    """One answer to try in place of an exercise's answer cell."""

    notebook: str
    exercise: str
    kind: str
    name: str
    code: str
    concept: tuple[str, ...] = ()

    @property
    def must_pass(self) -> bool:
        return self.kind == "correct"


@dataclass(frozen=True)
class Claim:
    """A measured number written in a markdown cell, and where the notebook prints it."""

    notebook: str
    markdown: str
    phrase: str
    output: str
    pattern: str
    value: float
    rtol: float


@dataclass
class Outcome:
    candidate: Candidate
    failed_in: str | None  # "answer", "visible", "hidden" or None (passed everything)
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.failed_in is None

    @property
    def names_concept(self) -> bool:
        """Whether the failure message contains one of the candidate's concept words."""
        words = self.candidate.concept or (SHORTCUT_CONCEPT if self.candidate.kind == "shortcut" else ())
        text = self.message.lower()
        return any(word.lower() in text for word in words)

    @property
    def ok(self) -> bool:
        return self.passed if self.candidate.must_pass else not self.passed


@dataclass
class ClaimResult:
    claim: Claim
    printed: float | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass
class NotebookReport:
    notebook: str
    outcomes: list[Outcome] = field(default_factory=list)
    claims: list[ClaimResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # reference failures, unknown exercises
    seconds: float = 0.0


@dataclass
class Corpus:
    notebook: str
    candidates: list[Candidate]
    claims: list[Claim]


# --------------------------------------------------------------------------- corpus


def _strings(value, *, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"{where}: {key} must be a string or a list of strings; got {value!r}")


def read_corpus(path) -> Corpus:
    """Read one ``<notebook>.answers.toml`` file; errors name the file and the entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from error
    notebook = data.get("notebook")
    if not isinstance(notebook, str) or not notebook:
        raise ValueError(f"{path}: 'notebook' must name the source notebook (e.g. \"02_sweep\")")
    candidates = []
    for index, entry in enumerate(data.get("answers", []), start=1):
        where = f"{path.name}, answers entry {index}"
        missing = [key for key in ("exercise", "kind", "name", "code") if key not in entry]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}; got {entry['kind']!r}")
        concept = _strings(entry.get("concept", []), where=where, key="concept")
        if entry["kind"] == "wrong" and not concept:
            raise ValueError(
                f"{where} ({entry['name']}): a wrong answer needs the concept its message must name"
            )
        candidates.append(
            Candidate(notebook, entry["exercise"], entry["kind"], entry["name"], entry["code"], concept)
        )
    claims = []
    for index, entry in enumerate(data.get("claims", []), start=1):
        where = f"{path.name}, claims entry {index}"
        missing = [
            key for key in ("markdown", "phrase", "output", "pattern", "value", "rtol") if key not in entry
        ]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        if re.compile(entry["pattern"]).groups < 1:
            raise ValueError(f"{where}: pattern {entry['pattern']!r} needs a group that captures the number")
        claims.append(
            Claim(
                notebook,
                entry["markdown"],
                entry["phrase"],
                entry["output"],
                entry["pattern"],
                float(entry["value"]),
                float(entry["rtol"]),
            )
        )
    return Corpus(notebook, candidates, claims)


def corpus_files(solutions: Path) -> dict[str, Path]:
    """Notebook name -> its corpus file, for every ``*.answers.toml`` beside the assignments."""
    return {
        path.name.removesuffix(".answers.toml"): path for path in sorted(solutions.glob("*.answers.toml"))
    }


# --------------------------------------------------------------------------- the kernel


class _Kernel:
    """One kernel, fed code strings; remembers what each cell printed."""

    def __init__(self, cwd: Path, timeout: float):
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))
        self.timeout = timeout

    def run(self, code: str) -> tuple[str | None, str]:
        """Run ``code``; return (error text or None, what it printed to stdout)."""
        printed: list[str] = []

        def hook(message):
            content = message.get("content", {})
            if message.get("msg_type") == "stream" and content.get("name") == "stdout":
                printed.append(content.get("text", ""))
            elif message.get("msg_type") in ("execute_result", "display_data"):
                printed.append(content.get("data", {}).get("text/plain", ""))

        try:
            reply = self.client.execute_interactive(
                code, timeout=self.timeout, output_hook=hook, stop_on_error=False, allow_stdin=False
            )
        except (TimeoutError, queue.Empty):
            self.manager.interrupt_kernel()
            return f"TimeoutError: the cell ran longer than {self.timeout:g} s", "".join(printed)
        content = reply["content"]
        if content.get("status") == "error":
            return f"{content.get('ename', 'Error')}: {content.get('evalue', '')}", "".join(printed)
        return None, "".join(printed)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def split_test(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell's source."""
    if HIDDEN_BEGIN not in source:
        return source, ""
    visible, rest = source.split(HIDDEN_BEGIN, 1)
    hidden, _, after = rest.partition(HIDDEN_END)
    return visible, hidden + after


def _grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _try(kernel: _Kernel, candidate: Candidate, visible: str, hidden: str) -> Outcome:
    started = time.perf_counter()
    kernel.run("_checker_state = _checker_snapshot(globals())")
    try:
        failed_in, message = None, ""
        for step, code in (("answer", candidate.code), ("visible", visible), ("hidden", hidden)):
            if not code.strip():
                continue
            error, _ = kernel.run(code)
            if error is not None:
                failed_in, message = step, error
                break
    finally:
        kernel.run("_checker_restore(globals(), _checker_state)")
    return Outcome(candidate, failed_in, message, time.perf_counter() - started)


def check_notebook(
    path,
    candidates: Sequence[Candidate],
    claims: Sequence[Claim] = (),
    *,
    timeout: float = 300.0,
) -> NotebookReport:
    """Run the source notebook at ``path`` once, trying every candidate at its exercise."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    report = NotebookReport(path.stem)
    started = time.perf_counter()
    by_exercise: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_exercise.setdefault(candidate.exercise, []).append(candidate)
    tests = {_grade_id(cell): cell.source for cell in notebook.cells if _grade_id(cell).startswith("test-")}
    answers = {_grade_id(cell) for cell in notebook.cells if _grade_id(cell).startswith("answer-")}
    for exercise in by_exercise:
        if f"answer-{exercise}" not in answers or f"test-{exercise}" not in tests:
            report.problems.append(f"{path.stem}: no exercise {exercise!r} (cells answer-/test-{exercise})")
    printed: dict[str, str] = {}
    kernel = _Kernel(path.parent, timeout)
    try:
        kernel.run(_KERNEL_STATE)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            error, output = kernel.run(cell.source)
            printed[cell.id] = output
            grade_id = _grade_id(cell)
            if error is not None:
                report.problems.append(f"{path.stem}: the reference cell {cell.id} fails: {error}")
                continue
            if grade_id.startswith("test-"):
                exercise = grade_id.removeprefix("test-")
                visible, hidden = split_test(cell.source)
                for candidate in by_exercise.get(exercise, []):
                    report.outcomes.append(_try(kernel, candidate, visible, hidden))
    finally:
        kernel.close()
    markdown = {cell.id: cell.source for cell in notebook.cells if cell.cell_type == "markdown"}
    report.claims = [check_claim(claim, markdown, printed) for claim in claims]
    report.seconds = time.perf_counter() - started
    return report


def check_claim(claim: Claim, markdown: dict[str, str], printed: dict[str, str]) -> ClaimResult:
    """Does the prose still say it, and does the notebook still print a value that agrees?"""
    text = markdown.get(claim.markdown)
    if text is None:
        return ClaimResult(claim, None, f"no markdown cell {claim.markdown!r}")
    if claim.phrase not in " ".join(text.split()):
        return ClaimResult(claim, None, f"cell {claim.markdown!r} no longer says {claim.phrase!r}")
    if claim.output not in printed:
        return ClaimResult(claim, None, f"no code cell {claim.output!r}")
    match = re.search(claim.pattern, printed[claim.output])
    if match is None:
        return ClaimResult(claim, None, f"cell {claim.output!r} printed nothing matching {claim.pattern!r}")
    try:
        value = float(match.group(1))
    except ValueError:
        return ClaimResult(claim, None, f"cell {claim.output!r}: {match.group(1)!r} is not a number")
    if abs(value - claim.value) > claim.rtol * abs(claim.value):
        return ClaimResult(
            claim,
            value,
            f"the prose says {claim.value:g} ({claim.phrase!r}) but the notebook printed {value:g}, "
            f"more than {claim.rtol:.0%} apart",
        )
    return ClaimResult(claim, value)


# --------------------------------------------------------------------------- the course


def check_course(
    solutions,
    assignment: str,
    *,
    notebooks: Iterable[str] | None = None,
    exercises: Iterable[str] | None = None,
    jobs: int = 1,
    timeout: float = 300.0,
) -> list[NotebookReport]:
    """Check every notebook that has a corpus file (or those named), ``jobs`` at a time."""
    solutions = Path(solutions)
    files = corpus_files(solutions)
    wanted = list(files)
    if notebooks is not None:
        wanted = [name for name in files if any(name.startswith(prefix) for prefix in notebooks)]
        if not wanted:
            raise ValueError(f"notebooks {list(notebooks)!r} match none of the corpus files {list(files)}")
    exercises = set(exercises or ())
    work = []
    for name in wanted:
        corpus = read_corpus(files[name])
        path = solutions / assignment / f"{corpus.notebook}.ipynb"
        if not path.is_file():
            raise ValueError(
                f"{files[name].name} names the notebook {path.stem!r}, but {path} does not exist"
            )
        candidates = [c for c in corpus.candidates if not exercises or c.exercise in exercises]
        work.append((path, candidates, corpus.claims))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [
            pool.submit(check_notebook, path, cands, claims, timeout=timeout) for path, cands, claims in work
        ]
        return [future.result() for future in futures]


@dataclass
class Verdict:
    """The numbers the issue asks for, and whether they are good enough."""

    caught: int
    must_fail: int
    named: int
    failed: int
    correct_passed: int
    correct: int
    shortcuts_passing: int
    problems: list[str]
    min_named: float = MIN_NAMED

    @property
    def named_share(self) -> float:
        return self.named / self.failed if self.failed else 1.0

    @property
    def ok(self) -> bool:
        return (
            self.caught == self.must_fail
            and self.correct_passed == self.correct
            and self.named_share >= self.min_named
            and not self.problems
        )


def verdict(reports: Sequence[NotebookReport], *, min_named: float = MIN_NAMED) -> Verdict:
    outcomes = [outcome for report in reports for outcome in report.outcomes]
    must_fail = [o for o in outcomes if not o.candidate.must_pass]
    failed = [o for o in must_fail if not o.passed]
    correct = [o for o in outcomes if o.candidate.must_pass]
    problems = [problem for report in reports for problem in report.problems]
    problems += [
        f"{r.notebook}: claim {c.claim.phrase!r}: {c.problem}" for r in reports for c in r.claims if not c.ok
    ]
    return Verdict(
        caught=len(failed),
        must_fail=len(must_fail),
        named=sum(o.names_concept for o in failed),
        failed=len(failed),
        correct_passed=sum(o.passed for o in correct),
        correct=len(correct),
        shortcuts_passing=sum(o.passed for o in must_fail if o.candidate.kind == "shortcut"),
        problems=problems,
        min_named=min_named,
    )


def _clip(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def format_report(
    reports: Sequence[NotebookReport], *, verbose: bool = False, min_named: float = MIN_NAMED
) -> str:
    """Per exercise: which answers pass that should not (and the reverse), which messages miss."""
    lines = []
    for report in reports:
        lines.append(f"== {report.notebook} ({len(report.outcomes)} answers, {report.seconds:.0f} s)")
        exercises: dict[str, list[Outcome]] = {}
        for outcome in report.outcomes:
            exercises.setdefault(outcome.candidate.exercise, []).append(outcome)
        for exercise, outcomes in exercises.items():
            must_fail = [o for o in outcomes if not o.candidate.must_pass]
            caught = sum(not o.passed for o in must_fail)
            named = sum(o.names_concept for o in must_fail if not o.passed)
            correct = [o for o in outcomes if o.candidate.must_pass]
            lines.append(
                f"  {exercise}: {caught}/{len(must_fail)} wrong or shortcut answers caught, "
                f"{named}/{caught} messages name the concept, "
                f"{sum(o.passed for o in correct)}/{len(correct)} correct alternatives pass"
            )
            for outcome in outcomes:
                candidate = outcome.candidate
                if not outcome.ok:
                    status = "FAILS (must pass)" if candidate.must_pass else "PASSES (must fail)"
                elif not candidate.must_pass and not outcome.names_concept:
                    status = "caught, message misses the concept"
                elif verbose:
                    status = "ok"
                else:
                    continue
                lines.append(f"    [{candidate.kind}] {candidate.name}: {status}")
                if outcome.message and (verbose or status != "ok"):
                    where = f"in the {outcome.failed_in} part" if outcome.failed_in else ""
                    lines.append(f"        {where}: {_clip(outcome.message)}")
                    if not candidate.must_pass and not outcome.names_concept:
                        words = candidate.concept or SHORTCUT_CONCEPT
                        lines.append(f"        expected a message naming one of {list(words)}")
        for result in report.claims:
            mark = "ok" if result.ok else "WRONG"
            printed = "" if result.printed is None else f" (printed {result.printed:g})"
            lines.append(f"  claim {result.claim.phrase!r}: {mark}{printed} {result.problem}".rstrip())
    summary = verdict(reports, min_named=min_named)
    for problem in summary.problems:
        lines.append(f"PROBLEM: {problem}")
    lines.append(
        f"{summary.caught}/{summary.must_fail} wrong answers and shortcuts caught "
        f"({summary.shortcuts_passing} shortcuts pass); {summary.named}/{summary.failed} failure messages "
        f"name their concept ({summary.named_share:.0%}, need {min_named:.0%}); "
        f"{summary.correct_passed}/{summary.correct} correct alternatives pass; "
        f"{sum(len(r.claims) for r in reports)} prose claims checked"
    )
    lines.append("check-exercises: " + ("OK" if summary.ok else "FAILED"))
    return "\n".join(lines)
