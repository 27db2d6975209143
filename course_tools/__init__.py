"""Tooling for the people who run the course "Choosing a learning rate"; students never need it.

- :mod:`course_tools.notebook_format`: canonical notebooks with readable cell ids, and the release;
- :mod:`course_tools.grading`: parallel, sandboxed, resumable autograding, and the student bundle;
- :mod:`course_tools.links`: links to a section or cell for forum mentors;
- :mod:`course_tools.cli`: the ``course`` command (``lr-find`` comes from the library);
- :mod:`course_tools.browser_setup` and ``_system``: machine setup for the test suite.

The library the notebooks import is ``course_utils``; it never imports this package, and the
student bundle carries the library alone.
"""
