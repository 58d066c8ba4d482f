"""The command line: help, errors, and the whole path end to end on synthetic data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brats_tutorial import cli
from brats_tutorial.cli import main
from brats_tutorial.errors import BratsDataError

SUBCOMMANDS = ("download", "synthetic", "check", "cache", "train", "predict", "evaluate")
REPOSITORY = Path(__file__).resolve().parent.parent
#: Each script of data_scripts/ and the subcommand it stands for.
DATA_SCRIPTS = {
    "download_brats": "download",
    "make_synthetic": "synthetic",
    "check_dataset": "check",
    "build_cache": "cache",
}


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


def test_bad_values_argparse_cannot_check_alone_are_usage_errors(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["cache", str(tmp_path), "--modalities", "flair", "flair"])
    assert exit_info.value.code == 2
    assert "brats-tutorial cache: error: modalities repeat a name" in capsys.readouterr().err

    monkeypatch.setenv("BRATS_PROFILE", "huge")
    with pytest.raises(SystemExit) as exit_info:
        main(["cache", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "error: $BRATS_PROFILE: unknown profile 'huge'" in capsys.readouterr().err

    with pytest.raises(SystemExit) as exit_info:
        main(["synthetic", str(tmp_path), "--cases", "0"])
    assert exit_info.value.code == 2
    assert "argument --cases: must be >= 1, got 0" in capsys.readouterr().err


def _raise(error: BaseException):
    def handler(args):
        raise error

    return handler


@pytest.mark.parametrize(
    "error", [RuntimeError("a bug"), ValueError("Invalid dtype, deep inside Keras")], ids=repr
)
def test_an_unexpected_exception_propagates_with_its_traceback(tmp_path, monkeypatch, error):
    # Only bad arguments (usage) and BratsDataError (bad data) are turned into messages: a
    # ValueError from deep inside a library is a bug to see, not a usage error.
    monkeypatch.setattr(cli, "_command_check", _raise(error))
    with pytest.raises(type(error)) as caught:
        main(["check", str(tmp_path)])
    assert caught.value is error


def test_a_data_error_is_one_line_and_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_command_check", _raise(BratsDataError(tmp_path, "unreadable")))
    assert main(["check", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {tmp_path}: unreadable\n"


def _run(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=300,
    )


@pytest.mark.parametrize("script", list(DATA_SCRIPTS))
def test_every_data_script_shows_the_help_of_its_subcommand(script, tmp_path, monkeypatch, capsys):
    result = _run([str(REPOSITORY / "data_scripts" / f"{script}.py"), "--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_info:
        main([DATA_SCRIPTS[script], "--help"])
    assert exit_info.value.code == 0
    assert result.stdout == capsys.readouterr().out  # same options, defaults and help


def _bad_input(script: str, tmp_path: Path) -> list[str]:
    """Arguments that each script must refuse: data it cannot use."""
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    return {
        "download_brats": ["--zip", str(tmp_path / "missing.zip"), "--no-progress"],
        "make_synthetic": [str(a_file), "--cases", "1", "--no-progress"],
        "check_dataset": [str(empty), "--no-progress"],
        "build_cache": [str(empty), "--no-progress"],
    }[script]


@pytest.mark.parametrize("script", list(DATA_SCRIPTS))
def test_a_data_script_and_the_command_line_agree_on_bad_input(script, tmp_path, capsys):
    arguments = _bad_input(script, tmp_path)
    result = _run([str(REPOSITORY / "data_scripts" / f"{script}.py"), *arguments], cwd=tmp_path)

    status = main([DATA_SCRIPTS[script], *arguments])

    assert result.returncode == status == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and result.stderr.endswith(error)
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_run_trained_by_a_chapter_is_used_by_predict_and_evaluate(tmp_path, quick_run, capsys):
    """course.trained_model (what chapters 5-9 call) leaves a run folder that the command line
    reads: the same split, the same preprocessing, the same model."""
    from brats_tutorial.splits import load_split

    data, _, _, split, _, _, config = quick_run
    data_dir = data.data_dir
    run = config.output_dir
    assert load_split(run / "split.json") == split
    predictions = tmp_path / "predictions"
    assert main(["predict", str(run), str(data_dir), str(predictions)]) == 0
    assert sorted(p.name for p in predictions.glob("*.nii.gz")) == [
        f"{case}.nii.gz" for case in split.test
    ]
    csv = tmp_path / "scores.csv"
    assert (
        main(
            ["evaluate", str(predictions), str(data_dir), "--run-dir", str(run), "--csv", str(csv)]
        )
        == 0
    )
    assert list(pd.read_csv(csv)["Case"][: len(split.test)]) == list(split.test)


@pytest.mark.slow
def test_improvements_chosen_at_training_are_applied_by_predict(tmp_path, capsys):
    """train --modalities/--context-slices/--target/--augment/--mirror/--postprocess saves them in
    the run folder; predict, told nothing, uses them (and --no-mirror/--no-postprocess undo)."""
    import json

    data, run = tmp_path / "data", tmp_path / "run"
    assert main(["synthetic", str(data), "--cases", "6", "--seed", "5", "--no-progress"]) == 0
    arguments = ["train", str(data), str(run), "--profile", "quick", "--epochs", "1"]
    arguments += ["--image-size", "32", "--slice-start", "42", "--slice-count", "40"]
    arguments += ["--modalities", "flair", "t1", "t1ce", "t2", "--context-slices", "1"]
    arguments += ["--target", "regions", "--augment", "rich", "--mirror", "--postprocess"]
    assert main(arguments) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["context_slices"], config["target"], config["augment"]) == (1, "regions", "rich")
    assert json.loads((run / "preprocessing.json").read_text())["modalities"] == [
        "flair",
        "t1",
        "t1ce",
        "t2",
    ]
    inference = json.loads((run / "inference.json").read_text())
    assert inference["mirror"] is True and set(inference["postprocessing"]) == {
        "min_component_voxels",
        "min_enhancing_voxels",
    }
    capsys.readouterr()
    assert main(["predict", str(run), str(data), str(tmp_path / "predictions")]) == 0
    assert "'mirror': True" in capsys.readouterr().out
    labels = np.asanyarray(nib.load(next((tmp_path / "predictions").glob("*.nii.gz"))).dataobj)
    assert set(np.unique(labels)) <= {0, 1, 2, 4}
    # The reverse: a chapter uses the run the command line trained, through its run folder.
    from brats_tutorial.discovery import find_cases
    from brats_tutorial.inference import predict_case
    from brats_tutorial.loading import load_case
    from brats_tutorial.run_folder import RunFolder

    folder = RunFolder(run)
    settings = folder.load_preprocessing()
    test_id = folder.load_split().test[0]
    case = load_case(next(c for c in find_cases(data) if c.case_id == test_id), settings.modalities)
    labels_in_a_chapter = predict_case(
        folder.load_best_model(), case, settings, inference=folder.load_inference()
    )
    written = nib.load(tmp_path / "predictions" / f"{test_id}.nii.gz")
    np.testing.assert_array_equal(labels_in_a_chapter, np.asanyarray(written.dataobj))
    plain = ["predict", str(run), str(data), str(tmp_path / "plain"), "--no-mirror"]
    assert main([*plain, "--no-postprocess"]) == 0
    output = capsys.readouterr().out
    assert "'mirror': False" in output and "'min_enhancing_voxels': 0" in output


def test_download_refuses_dest_without_zip(tmp_path, capsys):
    """kagglehub keeps its own cache: --dest alone would be silently ignored, so it is an error."""
    with pytest.raises(SystemExit) as stopped:
        main(["download", "--dest", str(tmp_path / "brats")])
    assert stopped.value.code == 2
    assert "KAGGLEHUB_CACHE" in capsys.readouterr().err
    assert not (tmp_path / "brats").exists()
