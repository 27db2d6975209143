"""Sliders the notebooks use to explore learning rates: on a sweep, in training, and in decay.

One explorer per module. Each builder returns a small object: ``.widget`` is what the notebook
displays, ``.slider`` is the rate slider (log scale), and the rest is the state the last update
produced, so a test can set ``slider.value`` and read the result without a browser.
"""

from course_utils.widgets.decay_explorer import DecayExplorer, decay_explorer
from course_utils.widgets.fixed_rate_explorer import FixedRateExplorer, fixed_rate_explorer
from course_utils.widgets.panel import FigurePanel
from course_utils.widgets.sweep_explorer import SweepExplorer, sweep_explorer

__all__ = [
    "DecayExplorer",
    "FigurePanel",
    "FixedRateExplorer",
    "SweepExplorer",
    "decay_explorer",
    "fixed_rate_explorer",
    "sweep_explorer",
]
