"""nbgrader configuration for the course (instructors run nbgrader from the repository root).

Source notebooks (with solutions and hidden tests) live in ``solutions/``; the student release
that ``nbgrader generate_assignment`` writes goes to ``notebooks/`` and is committed.
"""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

HERE = os.path.dirname(os.path.abspath(__file__))
ASSIGNMENT = "learning-rate"

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "lr-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The per-cell limit while validating and autograding (nbgrader reads Execute, not ExecutePreprocessor).
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
