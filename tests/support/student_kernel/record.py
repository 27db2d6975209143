"""Run by the student kernel as it starts (``IPKernelApp.exec_files`` in its kernelspec).

When the notebook has imported ``course_utils``, right after that cell, the kernel writes one record
to ``$COURSE_STUDENT_KERNEL_RECORDS/<pid>.json``: its Python (``sys.prefix``), where ``course_utils``
came from, and what importing each of ``$COURSE_STUDENT_KERNEL_MISSING`` (space-separated names)
raised. Nothing is printed and no name is left in the notebook's namespace; a failure is recorded
instead of shown, so the notebook's outputs stay as they are.
"""


def _record_the_student_kernel():
    import importlib
    import json
    import os
    import sys

    folder = os.environ.get("COURSE_STUDENT_KERNEL_RECORDS")
    if not folder:
        return
    shell = get_ipython()  # noqa: F821 - IPython runs this file in the kernel's namespace

    def after_cell(result):
        module = sys.modules.get("course_utils")
        if module is None:
            return
        shell.events.unregister("post_run_cell", after_cell)
        record = {"pid": os.getpid(), "prefix": sys.prefix, "cwd": os.getcwd()}
        try:
            record["course_utils"] = module.__file__
            record["missing"] = {}
            for name in os.environ.get("COURSE_STUDENT_KERNEL_MISSING", "").split():
                try:
                    importlib.import_module(name)
                    record["missing"][name] = None
                except ImportError as error:
                    record["missing"][name] = f"{type(error).__name__}: {error}"
        except Exception as error:  # recorded, never shown in the notebook
            record["error"] = f"{type(error).__name__}: {error}"
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w", encoding="utf-8") as handle:
            json.dump(record, handle)

    shell.events.register("post_run_cell", after_cell)


_record_the_student_kernel()
del _record_the_student_kernel
