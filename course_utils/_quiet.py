"""Keep TensorFlow quiet before it is imported.

nbgrader gives a test cell zero marks if anything reaches stderr, and TensorFlow's C++ start-up
logs and Python warnings do. Importing this module first (``course_utils`` does) sets the log
level unless the user chose one.
"""

import logging
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def quiet_tensorflow_loggers() -> None:
    """Silence TensorFlow's and absl's Python loggers (retracing warnings and the like)."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; nothing to quiet without it
        pass


quiet_tensorflow_loggers()
# Keras warns on every first fit() of a tf.data.Dataset that its default shuffle=True is ignored;
# our data sets shuffle themselves, so the warning only teaches students to ignore stderr.
warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed", category=UserWarning)
