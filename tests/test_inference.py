"""Whole-case inference written as BraTS submission NIfTI files."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from brats_tutorial.discovery import find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.inference import predict_case, predict_folder, save_prediction
from brats_tutorial.loading import load_case
from brats_tutorial.model import build_model
from brats_tutorial.preprocessing import PreprocessingSettings


@pytest.fixture(scope="module")
def untrained_model():
    import keras

    keras.utils.set_random_seed(0)
    return build_model("quick", input_shape=(64, 64, 2), num_classes=4)


def test_prediction_file_matches_the_input_case(tmp_path, synthetic_dir, untrained_model):
    settings = PreprocessingSettings(image_size=64)
    case_files = find_cases(synthetic_dir)[0]
    case = load_case(case_files, settings.modalities)
    labels = predict_case(untrained_model, case, settings)
    assert labels.shape == case.images["flair"].shape and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {0, 1, 2, 4}

    path = save_prediction(labels, case, tmp_path / "predictions")
    assert path.name == f"{case.case_id}.nii.gz"
    written = nib.load(path)
    source = nib.load(case_files.images["flair"])
    assert written.shape == source.shape
    np.testing.assert_allclose(written.affine, source.affine)
    assert written.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), labels)
    assert nib.aff2axcodes(written.affine) == nib.aff2axcodes(source.affine)
    assert not list(path.parent.glob(".*")), "no temporary file left behind"


def test_every_slice_is_predicted_not_only_the_training_window(synthetic_dir):
    """A model that always says 'oedema' must label every slice, 0..154, as oedema."""
    import keras

    inputs = keras.Input((64, 64, 2))
    constant = keras.layers.Lambda(
        lambda x: keras.ops.one_hot(keras.ops.full(keras.ops.shape(x)[:3], 2, "int32"), 4)
    )(inputs)
    model = keras.Model(inputs, constant)
    settings = PreprocessingSettings(image_size=64)
    case = load_case(find_cases(synthetic_dir)[0], settings.modalities)
    labels = predict_case(model, case, settings)
    assert np.all(labels == 2)


def test_a_bad_case_is_reported_and_the_others_finish(tmp_path, synthetic_dir, untrained_model):
    import shutil

    data = tmp_path / "data"
    cases = find_cases(synthetic_dir)[:2]
    for case_files in cases:
        shutil.copytree(case_files.folder, data / case_files.folder.name)
    broken = data / cases[1].folder.name / cases[1].images["t1ce"].name
    broken.write_bytes(b"not a nifti file")

    report = predict_folder(
        untrained_model,
        data,
        tmp_path / "predictions",
        PreprocessingSettings(image_size=64),
        progress=False,
    )
    assert [p.name for p in report.written] == [f"{cases[0].case_id}.nii.gz"]
    assert list(report.failed) == [cases[1].case_id]
    assert broken.name in report.failed[cases[1].case_id]
    assert "1 failed" in report.format()


def test_refuses_to_write_into_the_data_folder(synthetic_dir, untrained_model):
    with pytest.raises(BratsDataError, match="inside the data folder"):
        predict_folder(
            untrained_model,
            synthetic_dir,
            synthetic_dir / "predictions",
            PreprocessingSettings(image_size=64),
        )


def _mirrored_case(case):
    """The case mirrored along x (left-right) and y (front-back), images and mask."""
    from dataclasses import replace

    flip = lambda volume: None if volume is None else np.ascontiguousarray(volume[::-1, ::-1])  # noqa: E731
    return replace(
        case,
        images={name: flip(volume) for name, volume in case.images.items()},
        mask=flip(case.mask),
    )


@pytest.mark.parametrize("mirror", [False, True])
def test_mirroring_makes_the_prediction_follow_a_mirrored_input(
    synthetic_dir, untrained_model, mirror
):
    """With test-time mirroring, predicting the mirrored case gives the mirrored prediction (the
    average over the 4 mirrorings is the same set of passes); an untrained network alone is not
    symmetric, so without mirroring the two differ."""
    from brats_tutorial.inference import predict_probabilities

    settings = PreprocessingSettings(image_size=64)
    case = load_case(find_cases(synthetic_dir)[0], settings.modalities)
    original = predict_probabilities(untrained_model, case, settings, mirror=mirror)
    mirrored = predict_probabilities(untrained_model, _mirrored_case(case), settings, mirror=mirror)
    difference = np.abs(original[::-1, ::-1] - mirrored).max()
    if mirror:
        assert difference < 1e-4
    else:
        assert difference > 1e-3


def test_a_2_5d_region_model_predicts_nested_labels_with_post_processing(synthetic_dir):
    """The context is read from the model's input channels; sigmoid regions become labels
    {0, 1, 2, 4}; a post-processing threshold above the tumour's size empties the prediction."""
    import keras

    from brats_tutorial.inference import InferenceSettings, labels_from_probabilities
    from brats_tutorial.postprocessing import PostprocessingSettings

    keras.utils.set_random_seed(0)
    model = build_model("quick", input_shape=(64, 64, 6), target="regions")
    settings = PreprocessingSettings(image_size=64)
    case = load_case(find_cases(synthetic_dir)[0], settings.modalities)
    labels = predict_case(model, case, settings, inference=InferenceSettings(mirror=True))
    assert labels.shape == case.images["flair"].shape
    assert set(np.unique(labels)) <= {0, 1, 2, 4}
    everything_removed = InferenceSettings(
        postprocessing=PostprocessingSettings(min_component_voxels=labels.size + 1)
    )
    assert not predict_case(model, case, settings, inference=everything_removed).any()
    probabilities = np.array([[0.9, 0.2, 0.1], [0.9, 0.8, 0.1], [0.9, 0.8, 0.7], [0.1, 0.1, 0.1]])
    np.testing.assert_array_equal(labels_from_probabilities(probabilities), [2, 1, 4, 0])
    with pytest.raises(ValueError, match="does not fit"):
        predict_case(build_model("quick", input_shape=(64, 64, 4)), case, settings)
