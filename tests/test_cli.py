"""The command line: help, errors, and the whole path end to end on synthetic data."""

from __future__ import annotations

import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brats_tutorial.cli import build_parser, main

SUBCOMMANDS = ("synthetic", "check", "cache", "train", "predict", "evaluate")


def test_help_of_every_subcommand(capsys):
    for command in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"brats-tutorial {command}" in capsys.readouterr().out


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "brats_tutorial", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for command in SUBCOMMANDS:
        assert command in result.stdout


def test_bad_arguments_give_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(tmp_path), str(tmp_path / "run"), "--profile", "huge"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing")]) != 0
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_end_to_end_on_synthetic_data(tmp_path, capsys):
    data, run, predictions = tmp_path / "data", tmp_path / "run", tmp_path / "predictions"
    assert main(["synthetic", str(data), "--cases", "6", "--seed", "3"]) == 0
    assert main(["check", str(data)]) == 0
    assert main(["train", str(data), str(run), "--profile", "quick", "--epochs", "1"]) == 0
    assert (run / "best.keras").exists() and (run / "split.json").exists()
    assert main(["predict", str(run), str(data), str(predictions)]) == 0
    written = sorted(predictions.glob("*.nii.gz"))
    split = pd.read_json(run / "split.json", typ="series")
    assert [p.name for p in written] == [f"{case}.nii.gz" for case in sorted(split["test"])]
    labels = np.asanyarray(nib.load(written[0]).dataobj)
    assert labels.shape == (240, 240, 155) and set(np.unique(labels)) <= {0, 1, 2, 4}
    assert main(["evaluate", str(predictions), str(data), "--csv", str(tmp_path / "scores.csv"),
                 "--run-dir", str(run)]) == 0
    output = capsys.readouterr().out
    assert "Dice" in output and "HD95" in output
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert {"Dice_WT", "HD95_ET"} <= set(scores.columns)
