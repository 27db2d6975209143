"""Code the test modules share: small models and data, sweep curves, toy courses.

``tests/`` is on the path (``pythonpath`` in ``pyproject.toml``), so a test imports
``from support.sweeps import lesson_like_sweep``. Fixtures built on these live in the
``conftest.py`` of the folder whose tests use them.
"""
