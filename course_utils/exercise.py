"""Support for the exercises' test cells: the course's helpers out of reach, messages that teach.

An exercise asks a student to write something the course's helpers already compute (a windowed
data set, a sweep's rates, a valley...). A test that only compares the answer with the helper is
passed by one call of that helper, and then grades nothing. So while a test runs the student's
code, :func:`own_work` switches every ``course_utils`` function off: calling one raises
:class:`ShortcutError`, which says so. Everything is switched back on when the block ends, also
when the student's code fails.

:func:`explain` formats a failure message the same way everywhere: the concept first, then what
was expected and what was received, short.
"""

from __future__ import annotations

import importlib
import importlib.abc
import inspect
import sys
import types
from collections.abc import Iterable

import numpy as np

# The library's modules, imported before switching off so that none is missed.
LIBRARY_MODULES = (
    "data",
    "models",
    "schedules",
    "range_test",
    "trials",
    "suggest",
    "other_finders",
    "fixed_rate",
    "plots",
    "widgets",
    "convergence",
    "fresh_start",
)
# Never switched off: this module, TensorFlow's log settings and the argument checks
# (they compute nothing an exercise asks for, and allowed helpers call them).
_NEVER_BLOCKED = {"course_utils.exercise", "course_utils._quiet", "course_utils._validate"}


class ShortcutError(RuntimeError):
    """A course helper was called while a test ran the student's own code."""


def _raiser(qualified_name: str) -> types.CodeType:
    message = (
        f"write this yourself: {qualified_name} is switched off while this test runs your code. "
        "The exercise asks you to do what that course helper does; call Keras, NumPy or "
        "tf.data directly instead."
    )
    source = (
        "def switched_off(*args, **kwargs):\n"
        f"    raise __import__('course_utils.exercise', fromlist=['ShortcutError']).ShortcutError({message!r})\n"
    )
    namespace: dict = {}
    exec(compile(source, f"<{qualified_name}, switched off by the exercise test>", "exec"), namespace)
    return namespace["switched_off"].__code__


def _functions_of(module: types.ModuleType):
    """(qualified name, function) for every function and method the module defines."""
    for name, value in list(vars(module).items()):
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            yield f"{module.__name__}.{name}", value
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for attribute, member in vars(value).items():
                if isinstance(member, staticmethod | classmethod):
                    member = member.__func__
                elif isinstance(member, property):
                    member = member.fget
                if inspect.isfunction(member):
                    yield f"{module.__name__}.{name}.{attribute}", member


class _NoFreshCopies(importlib.abc.MetaPathFinder):
    """Refuses to load a course module anew (``del sys.modules[...]`` then import) inside the block."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "course_utils" or fullname.startswith("course_utils."):
            raise ShortcutError(
                f"write this yourself: loading {fullname} anew while this test runs your code would "
                "bring back the course helpers it switched off."
            )
        return None


def _no_reload(module, *args, **kwargs):
    raise ShortcutError(
        f"write this yourself: importlib.reload({getattr(module, '__name__', module)!r}) is switched off "
        "while this test runs your code (it would bring back the course helpers)."
    )


def _names_used(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names_used(constant)
    return names


def _called_helpers(functions: Iterable) -> set[int]:
    """ids of ``functions`` and of every course_utils function they may call, transitively."""
    allowed, pending = set(), list(functions)
    while pending:
        function = pending.pop()
        if id(function) in allowed:
            continue
        allowed.add(id(function))
        namespace = function.__globals__
        for name in _names_used(function.__code__):
            value = namespace.get(name)
            if inspect.isfunction(value) and value.__module__.startswith("course_utils."):
                pending.append(value)
    return allowed


def _unwrap(function):
    """The function whose code can be swapped: decorators' wrappers carry a closure."""
    while function.__closure__ and hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    return None if function.__closure__ else function


class own_work:  # noqa: N801 - used like a function: `with own_work():`
    """Switch off every ``course_utils`` helper while the block runs, except those in ``allow``.

    ``allow`` names helpers the exercise lets students use, by their short name
    (``"build_dense_model"``) or qualified name (``"course_utils.models.build_dense_model"``);
    the course functions they call stay on too.
    Functions are switched off in place (their code is swapped), so every way of reaching one
    (``course_utils.x``, ``from course_utils.m import x``, a copy under another name) is covered;
    reloading or re-importing a course module inside the block is refused too.
    """

    def __init__(self, allow: Iterable[str] = ()):
        if isinstance(allow, str):
            raise TypeError(f"allow must be a list of helper names, not one string; got {allow!r}.")
        self.allow = set(allow)
        self._saved: list[tuple[types.FunctionType, types.CodeType]] = []
        self._finder: _NoFreshCopies | None = None
        self._reload = None

    def _allowed(self, qualified_name: str) -> bool:
        short = qualified_name.rsplit(".", 1)[-1]
        return short in self.allow or qualified_name in self.allow

    def __enter__(self) -> own_work:
        for name in LIBRARY_MODULES:
            importlib.import_module(f"course_utils.{name}")
        modules = [
            module
            for name, module in sorted(sys.modules.items())
            if name.startswith("course_utils.") and name not in _NEVER_BLOCKED and module is not None
        ]
        functions = [
            (qualified_name, target)
            for module in modules
            for qualified_name, function in _functions_of(module)
            if (target := _unwrap(function)) is not None
        ]
        seen = _called_helpers(target for name, target in functions if self._allowed(name))
        try:
            for qualified_name, target in functions:
                if id(target) in seen:
                    continue
                seen.add(id(target))
                self._saved.append((target, target.__code__))
                target.__code__ = _raiser(qualified_name)
            self._finder = _NoFreshCopies()
            sys.meta_path.insert(0, self._finder)
            self._reload, importlib.reload = importlib.reload, _no_reload
        except BaseException:
            self._restore()
            raise
        return self

    def _restore(self) -> None:
        if self._finder is not None:
            sys.meta_path[:] = [finder for finder in sys.meta_path if finder is not self._finder]
            self._finder = None
        if self._reload is not None:
            importlib.reload, self._reload = self._reload, None
        while self._saved:
            function, code = self._saved.pop()
            function.__code__ = code

    def __exit__(self, *exc_info) -> bool:
        self._restore()
        return False

    @property
    def switched_off(self) -> int:
        """How many functions the block has switched off (0 outside it)."""
        return len(self._saved)


def short(value, digits: int = 4) -> str:
    """A value for a message: arrays by their length and first and last elements."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float | np.floating):
        return f"{float(value):.{digits}g}"
    if isinstance(value, np.ndarray | list | tuple) and np.ndim(value) >= 1:
        try:
            array = np.asarray(value, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            return repr(value)[:80]
        kind = type(value).__name__
        if array.size <= 4:
            return f"{kind} [{', '.join(f'{v:.{digits}g}' for v in array)}]"
        first = ", ".join(f"{v:.{digits}g}" for v in array[:2])
        return f"{kind} of {array.size} [{first}, ..., {array[-1]:.{digits}g}]"
    return repr(value)[:80]


_MISSING = object()


def explain(concept: str, detail: str, *, expected=_MISSING, got=_MISSING) -> str:
    """A failure message: the concept named first, then the detail, then expected and received."""
    message = f"{concept}: {detail}"
    if expected is not _MISSING:
        message += f" Expected {short(expected) if not isinstance(expected, str) else expected}"
        message += "," if got is not _MISSING else "."
    if got is not _MISSING:
        message += f" got {short(got) if not isinstance(got, str) else got}."
    return message


def same(got, expected, *, rtol: float = 1e-6, atol: float = 0.0) -> bool:
    """True when ``got`` has ``expected``'s shape and values (NaN equal to NaN); never raises."""
    try:
        got_array = np.asarray(got, dtype=float)
        expected_array = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    return got_array.shape == expected_array.shape and bool(
        np.allclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    )
