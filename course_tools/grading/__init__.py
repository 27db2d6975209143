"""Instructor grading around nbgrader: parallel, sandboxed, resumable.

nbgrader grades one submission after another, in the grader's own process and with the grader's
rights. This package keeps nbgrader's formats and gradebook but changes how the work is done:

- :mod:`~course_tools.grading.limits` holds the limits of a grading kernel and the sandbox modes
  (standard library only: the command line reads its defaults there);
- :mod:`~course_tools.grading.sandbox` runs every grading kernel in a bubblewrap sandbox (private
  file-system view, no network, memory limit) and says what this machine can enforce;
- :mod:`~course_tools.grading.execute` is nbgrader's ``Execute`` with a per-notebook watchdog, an
  output cap, and a kernel that may die without taking the submission down with it;
- :mod:`~course_tools.grading.sanitize` works around an nbgrader 0.9 crash on duplicated cells;
- :mod:`~course_tools.grading.checks` explains what is wrong with a submission (edited or deleted
  test cells, invalid JSON, a renamed notebook, blocked network or file access, ...);
- :mod:`~course_tools.grading.worker` grades one submission in a private course copy;
- :mod:`~course_tools.grading.merge` folds each result into the one ``gradebook.db``, serially;
- :mod:`~course_tools.grading.runner` runs the batch on a process pool or a Dask cluster, resumes
  where an interrupted run stopped, and summarises;
- :mod:`~course_tools.grading.course` finds the course (:func:`~course_tools.grading.course.course_root`)
  and reads its ``nbgrader_config.py``;
- :mod:`~course_tools.grading.bundle` builds the student zip; :mod:`~course_tools.grading.reports`
  wraps nbgrader's CSV export and HTML feedback; :mod:`~course_tools.grading.corpus` makes a small
  toy assignment and a corpus of bad submissions for tests and benchmarks;
  ``python -m course_tools.grading.sandbox_setup`` installs and checks bubblewrap.
"""
