"""``course lr-find``: runs the sweep on the built-in data, prints suggestions, writes a PNG."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from course_tools.cli import main  # noqa: E402
from course_utils.cli.lr_find import parse_seeds  # noqa: E402
from course_utils.suggest import SUGGESTION_METHODS  # noqa: E402

from support.imports import heavy_modules_loaded_by  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def suggested_rates(output: str) -> dict[str, float]:
    rates = {}
    for line in output.splitlines():
        name, _, value = line.strip().partition(": ")
        if name in SUGGESTION_METHODS:
            rates[name] = float(value.split()[0])
    return rates


def test_per_batch_prints_every_suggestion_and_writes_the_plot(tmp_path, capsys):
    output = tmp_path / "sweep.png"
    code = main(
        ["lr-find", "--num-rates", "60", "--start-lr", "1e-8", "--end-lr", "1e-5", "--output", str(output)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert output.read_bytes().startswith(PNG_SIGNATURE)
    rates = suggested_rates(captured.out)
    assert set(rates) == set(SUGGESTION_METHODS)
    assert all(1e-8 <= lr <= 1e-5 for lr in rates.values())
    assert "<- suggested" in captured.out and "synthetic data, dense model, per=batch" in captured.out
    assert "range test (per batch)" in captured.err  # the progress bar


def test_per_epoch_on_sunspots_with_the_recurrent_model(tmp_path, capsys):
    output = tmp_path / "epoch.png"
    code = main(
        [
            "lr-find",
            "--data",
            "sunspots",
            "--model",
            "rnn",
            "--per",
            "epoch",
            "--steps",  # the old name of --num-rates
            "6",
            "--start-lr",
            "1e-9",
            "--end-lr",
            "1e-6",
            "--no-progress",
            "--output",
            str(output),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "6 rates from 1e-09 to 1e-06" in captured.out
    assert output.read_bytes().startswith(PNG_SIGNATURE)
    assert captured.err == ""


def test_independent_trials_option(tmp_path, capsys):
    output = tmp_path / "independent.png"
    code = main(
        ["lr-find", "--trials", "independent", "--num-rates", "8", "--no-progress", "--output", str(output)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "trials=independent" in captured.out
    assert output.is_file()


def test_momentum_and_init_seeds_sweep_a_grid(tmp_path, capsys):
    output = tmp_path / "grid.png"
    arguments = ["lr-find", "--trials", "independent", "--num-rates", "12", "--momentum", "0,0.9"]
    code = main([*arguments, "--init-seeds", "0-2", "--no-progress", "--output", str(output)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "3 initialisation(s)" in captured.out and "median at momentum 0.9" in captured.out
    assert "momentum 0:" in captured.out and "momentum 0.9:" in captured.out
    assert output.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("text", "seeds"), [("0-4", [0, 1, 2, 3, 4]), ("0,3,7-8", [0, 3, 7, 8]), ("5", [5]), (None, None)]
)
def test_init_seeds_are_read_as_ranges_and_lists(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--trials", "independent", "--init-seeds", "0-x"], ["--init-seeds", "0-x", "0-4"]),
        (["--trials", "independent", "--init-seeds", "4-1"], ["--init-seeds", "4-1"]),
        (["--trials", "independent", "--momentum", "0.5,high"], ["--momentum", "0.5,high"]),
        (["--trials", "independent", "--momentum", "1.5"], ["momentum", "below 1", "1.5"]),
        (["--momentum", "0,0.9"], ["--momentum", "--trials independent"]),
        (["--start-lr", "-1"], ["start_lr", "-1"]),
        (["--start-lr", "1e-3", "--end-lr", "1e-5"], ["start_lr", "end_lr"]),
        (["--num-rates", "1"], ["num_rates", "1"]),
        (["--output", "plot.jpg"], ["--output", "plot.jpg"]),
        (["--output", "/no/such/folder/plot.png"], ["--output", "/no/such/folder"]),
        (["--seed", "-3"], ["--seed", "-3"]),
    ],
)
def test_bad_options_exit_with_a_message(arguments, words, capsys):
    code = main(["lr-find", "--no-progress", *arguments])
    captured = capsys.readouterr()
    assert code == 2
    for word in words:
        assert word in captured.err


def test_unknown_choices_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["lr-find", "--model", "transformer"])
    assert caught.value.code == 2
    assert "transformer" in capsys.readouterr().err


def test_the_full_course_command_takes_lr_find_from_the_library():
    from course_tools.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["lr-find"]).func.__module__ == "course_utils.cli.lr_find"
    for command in (["release"], ["grade"], ["export"], ["feedback"], ["link", "Summary"]):
        assert parser.parse_args(command).func.__module__.startswith("course_tools.cli.")


def test_course_help_loads_no_tensorflow():
    """The options come from course_utils.defaults, which imports nothing: `course --help` stays fast."""
    code = (
        "from course_tools.cli import build_parser\n"
        "build_parser().parse_args(['lr-find', '--per', 'epoch', '--trials', 'independent'])"
    )
    assert heavy_modules_loaded_by(code, ("tensorflow", "keras", "jupyter_client", "nbgrader")) == []
