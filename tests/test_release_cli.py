"""Each release's layout through the whole command line, on real cases rewritten in that layout
(tests/release_layouts.py; skipped without the BraTS 2018 sample): check names the release,
cache, train (one epoch, tiny slices), predict writes the release's own label numbers, evaluate
scores them in those numbers, and the data folder is left as it was."""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nifti_builders import snapshot
from release_layouts import LAYOUTS

from brats_tutorial.cli import main
from brats_tutorial.constants import REGIONS
from brats_tutorial.discovery import find_cases
from brats_tutorial.releases import get_release
from brats_tutorial.splits import load_split

#: The tiny settings of the mechanism tests (tests/conftest.py): 32 x 32, 40 slices a patient.
TINY = ["--image-size", "32", "--slice-start", "42", "--slice-count", "40"]


@pytest.mark.slow
@pytest.mark.parametrize("release", LAYOUTS)
def test_each_layout_is_checked_cached_trained_predicted_and_evaluated(
    release_sample, release, tmp_path, capsys
):
    data = release_sample(release)
    table = get_release(release)
    before = snapshot(data)

    assert main(["check", str(data), "--no-progress"]) == 0
    output = capsys.readouterr().out
    assert f"release: {table.title}\n" in output and "3 cases: 3 ok, 0 failed" in output

    cache = tmp_path / "cache"
    assert main(["cache", str(data), "--cache-dir", str(cache), "--no-progress", *TINY]) == 0
    assert "(3 cases; built 3," in capsys.readouterr().out

    run, predictions = tmp_path / "run", tmp_path / "predictions"
    train = ["train", str(data), str(run), "--profile", "quick", "--epochs", "1"]
    assert main([*train, "--cache-dir", str(cache), *TINY]) == 0
    split = load_split(run / "split.json")
    assert (len(split.train), len(split.validation), len(split.test)) == (1, 1, 1)

    assert main(["predict", str(run), str(data), str(predictions)]) == 0
    written = sorted(predictions.glob("*.nii.gz"))
    assert [path.name for path in written] == [f"{case}.nii.gz" for case in split.test]
    labels = np.asanyarray(nib.load(written[0]).dataobj)
    assert labels.shape == (240, 240, 155) and labels.dtype == np.uint8
    assert set(np.unique(labels).tolist()) <= set(table.label_values)

    csv = tmp_path / "scores.csv"
    evaluate = ["evaluate", str(predictions), str(data), "--run-dir", str(run), "--csv", str(csv)]
    assert main(evaluate) == 0
    scores = pd.read_csv(csv).set_index("Case")
    assert list(scores.index[: len(split.test)]) == list(split.test)
    assert {f"Dice_{region}" for region in REGIONS} <= set(scores.columns)

    # The reference label maps, handed to evaluate as predictions, score Dice 1 in every region:
    # evaluate reads the release's own numbers on both sides.
    references = tmp_path / "references"
    references.mkdir()
    for case in find_cases(data):
        if case.case_id in split.test:
            shutil.copyfile(case.mask, references / f"{case.case_id}.nii.gz")
    reference_csv = tmp_path / "references.csv"
    evaluate = ["evaluate", str(references), str(data), "--run-dir", str(run)]
    assert main([*evaluate, "--csv", str(reference_csv)]) == 0
    perfect = pd.read_csv(reference_csv).set_index("Case").loc[list(split.test)]
    assert (perfect[[f"Dice_{region}" for region in REGIONS]] == 1.0).all().all()

    assert snapshot(data) == before  # nothing written into the data folder
