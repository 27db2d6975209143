"""The range test's choices and defaults, in a module that imports nothing.

``course lr-find`` builds its options from these names without loading TensorFlow (``course
--help`` stays fast); :mod:`course_utils.range_test` and :mod:`course_utils.trials` use the same
names, so the command line and the library cannot drift apart.
"""

#: ``per``: one rate per optimizer step (batch) or per epoch (the lesson's sweep).
PER_CHOICES = ("batch", "epoch")
#: ``trials``: one continuous run through rising rates, or every rate from the same weights.
TRIALS_CHOICES = ("continuous", "independent")

#: The lesson's sweep: ``1e-8 * 10**(epoch / 20)`` for 100 epochs (the default per epoch and of
#: independent trials).
LESSON_START_LR = 1e-8
LESSON_EPOCHS_PER_DECADE = 20
LESSON_NUM_EPOCHS = 100
LESSON_END_LR = LESSON_START_LR * 10 ** ((LESSON_NUM_EPOCHS - 1) / LESSON_EPOCHS_PER_DECADE)

#: The per-batch sweep: 1e-8 to 1e-2 over 1200 batches, 200 per decade (see ``lr_range_test``).
BATCH_START_LR = 1e-8
BATCH_END_LR = 1e-2
BATCH_NUM_RATES = 1200

#: The per-batch stop rule: the debiased moving average of the loss, with weight ``beta``, may
#: not exceed ``diverge_factor`` times its best value (counted after ``1 / (1 - beta)`` batches).
BETA = 0.98
DIVERGE_FACTOR = 4.0

#: How a range test ended.
STOP_COMPLETED = "completed"
STOP_DIVERGED = "diverged"
STOP_NON_FINITE = "non-finite loss"

#: How independent trials are trained: ``auto`` tries the trial axis (all at once) and falls
#: back to training one fresh copy per rate; the other two force one way.
TRIAL_METHODS = ("auto", "vectorized", "fallback")
