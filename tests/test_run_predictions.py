"""course.run_predictions: each patient predicted once per run, kept in the run folder."""

from __future__ import annotations

import numpy as np
import pytest

from brats_tutorial import course, inference
from brats_tutorial.discovery import find_cases
from brats_tutorial.loading import load_case


@pytest.mark.slow
def test_predictions_are_kept_and_reused_until_the_settings_change(quick_run, monkeypatch):
    data, settings, _, split, model, _, config = quick_run
    by_id = {case.case_id: case for case in find_cases(data.data_dir)}
    test_files = [by_id[case_id] for case_id in split.test]
    first = course.run_predictions(model, config, test_files, settings)

    # The kept maps are exactly what inference.predict_case gives with the run's settings.
    expected = inference.predict_case(
        model,
        load_case(test_files[0], settings.modalities, load_mask=False),
        settings,
        inference=config.run_folder.load_inference(),
    )
    np.testing.assert_array_equal(first[split.test[0]], expected)
    assert first[split.test[0]].dtype == np.uint8

    # A second call reads them: it never predicts.
    calls = []
    original = inference.predict_case
    monkeypatch.setattr(
        inference, "predict_case", lambda *a, **k: calls.append(a) or original(*a, **k)
    )
    second = course.run_predictions(model, config, test_files, settings)
    assert not calls
    for case_id in split.test:
        np.testing.assert_array_equal(first[case_id], second[case_id])

    # Other preprocessing settings (here: another slice window) are another key: predicted again.
    other = type(settings).from_dict(
        {**settings.to_dict(), "slice_start": settings.slice_start + 1}
    )
    course.run_predictions(model, config, test_files[:1], other)
    assert len(calls) == 1
