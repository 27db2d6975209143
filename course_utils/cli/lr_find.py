"""``course lr-find``: run the range test on the course's data from the command line.

Prints the suggested rate (the valley, then every other rule) and writes the sweep plot to a
PNG, so a mentor can answer "which rate should I use?" without opening a notebook.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from course_utils.defaults import PER_CHOICES, TRIALS_CHOICES

DATA_CHOICES = ("synthetic", "sunspots")
MODEL_CHOICES = ("dense", "rnn")
#: Sunspots: 309 yearly values; the last fifth is held out, like the synthetic series' split.
SUNSPOTS_TRAIN_FRACTION = 0.8


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lr-find",
        help="sweep the learning rate on the course's data and suggest one",
        description=(
            "Train a fresh model while the learning rate grows, print the suggested rate and "
            "write the loss-against-rate plot to a PNG."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data", choices=DATA_CHOICES, default="synthetic", help="data set to train on")
    parser.add_argument("--model", choices=MODEL_CHOICES, default="dense", help="model to sweep")
    parser.add_argument(
        "--per", choices=PER_CHOICES, default="batch", help="one rate per batch or per epoch (lesson)"
    )
    parser.add_argument(
        "--trials",
        choices=TRIALS_CHOICES,
        default="continuous",
        help="one continuous run, or every rate from the same initial weights",
    )
    parser.add_argument("--start-lr", type=float, default=None, help="first rate (default: per method)")
    parser.add_argument("--end-lr", type=float, default=None, help="last rate (default: per method)")
    parser.add_argument(
        "--num-rates",
        "--steps",  # its old name
        type=int,
        default=None,
        help="number of rates: batches, epochs or trials (default: per method)",
    )
    parser.add_argument(
        "--epochs-per-trial", type=int, default=1, help="epochs per rate with --trials independent"
    )
    parser.add_argument(
        "--momentum",
        default=None,
        help="with --trials independent: momenta to sweep too, e.g. 0,0.5,0.9 (Adam: beta_1)",
    )
    parser.add_argument(
        "--init-seeds",
        default=None,
        help="with --trials independent: seeds of the initial weights, e.g. 0-4 or 0,3,7",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the model's weights and the data order")
    parser.add_argument("--output", default="lr_find.png", help="where to write the plot (PNG)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


# The library's modules are imported inside the functions below, when the command runs: they load
# TensorFlow, and `course --help` must not.


def _dataset(name: str, seed: int):
    from course_utils.data import sunspots_series, synthetic_series, train_valid_split, windowed_dataset

    if name == "synthetic":
        time, series = synthetic_series()
        split = train_valid_split(time, series)
    else:
        time, series = sunspots_series()
        split = train_valid_split(time, series, int(len(series) * SUNSPOTS_TRAIN_FRACTION))
    return windowed_dataset(split.train, seed=seed)


def _model(name: str, seed: int):
    from course_utils.models import build_dense_model, build_recurrent_model, compile_model

    build = build_dense_model if name == "dense" else build_recurrent_model
    # The compiled rate is a placeholder: the sweep sets the rate itself.
    return compile_model(build(seed=seed), 1e-3)


def parse_momenta(text: str | None) -> list[float] | None:
    """``"0,0.5,0.9"`` -> ``[0.0, 0.5, 0.9]``; None stays None."""
    if text is None:
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(
            f"--momentum must be numbers separated by commas, such as 0,0.5,0.9; got {text!r}."
        ) from None
    return values


def parse_seeds(text: str | None) -> list[int] | None:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``, ``"0,3,7-8"`` -> ``[0, 3, 7, 8]``; None stays None."""
    if text is None:
        return None
    seeds = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not (first.isdigit() and (not dash or last.isdigit())) or (dash and int(last) < int(first)):
            raise ValueError(
                f"--init-seeds must be seeds (0 or more) and ranges separated by commas, such as 0-4 or 0,3,7; "
                f"got {text!r}."
            )
        seeds += list(range(int(first), int(last if dash else first) + 1))
    return seeds


def _output_path(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() != ".png":
        raise ValueError(f"--output must be a .png file; got {value!r}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--output: folder {str(path.parent)!r} does not exist.")
    return path


def run(args) -> int:
    output = _output_path(args.output)
    if args.seed < 0:
        raise ValueError(f"--seed must be zero or positive; got {args.seed}.")
    momenta, seeds = parse_momenta(args.momentum), parse_seeds(args.init_seeds)
    if args.trials == "continuous" and (momenta is not None or seeds is not None):
        raise ValueError("--momentum and --init-seeds need --trials independent (every trial a fresh start).")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.range_test import lr_range_test
    from course_utils.suggest import SUGGESTION_METHODS

    dataset = _dataset(args.data, args.seed)
    model = _model(args.model, args.seed)
    result = lr_range_test(
        model,
        dataset,
        per=args.per,
        trials=args.trials,
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_rates=args.num_rates,
        epochs_per_trial=args.epochs_per_trial,
        momentum=momenta,
        init_seeds=seeds,
        progress=not args.no_progress,
    )
    how = f"per={args.per}" if args.trials == "continuous" else f"{args.epochs_per_trial} epoch(s) per rate"
    print(
        f"{args.data} data, {args.model} model, {how}, trials={args.trials}: "
        f"{len(result.lrs)} rates from {result.lrs[0]:.3g} to {result.lrs[-1]:.3g}, "
        f"{result.stop_reason}, {result.elapsed:.2f} s"
    )
    suggestions = {}
    for method in SUGGESTION_METHODS:
        try:
            suggestions[method] = result.suggest(method)
        except ValueError as error:
            print(f"{method:>9}: n/a ({error})")
            continue
        note = "  <- suggested" if method == "valley" else ""
        print(f"{method:>9}: {suggestions[method]:.3g}{note}")
    for item in result.diagnose():  # the same checks as summary() and the plot
        print(f"{'warning':>9}: {item}")
    if "valley" not in suggestions:
        raise ValueError(
            "the sweep has too few finite losses to suggest a rate; try a wider or longer sweep."
        )
    low, high = result.usable_range()
    print(f"{'usable':>9}: {low:.3g} .. {high:.3g}")
    if result.trials_outcome is not None and result.grid_losses.shape[:2] != (1, 1):
        seeds_count, _, _ = result.grid_losses.shape
        print(
            f"{'grid':>9}: {seeds_count} initialisation(s); the rates above read the median at momentum {result.momentum:g}"
        )
        for value, lr in result.valleys().items():
            print(f"{'valley':>9}: momentum {value:g}: " + ("n/a" if lr is None else f"{lr:.3g}"))

    figure, ax = plt.subplots(figsize=(8, 5))
    try:
        result.plot(ax=ax, methods=tuple(suggestions))
        ax.set_title(f"Learning-rate range test: {args.data} data, {args.model} model, per {args.per}")
        figure.tight_layout()
        figure.savefig(output, dpi=100)
    finally:
        plt.close(figure)
    print(f"plot written to {output}")
    return 0
