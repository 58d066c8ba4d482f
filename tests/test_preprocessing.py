"""Preprocessing: normalisation, resizing, the slice window, channels and settings."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brats_tutorial.constants import LABEL_TO_CLASS
from brats_tutorial.data_sources import sample_dir
from brats_tutorial.discovery import CaseFiles, find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.inference import upsample_probabilities
from brats_tutorial.loading import Case, load_case
from brats_tutorial.preprocessing import (
    PreprocessingSettings,
    normalise_max,
    normalise_zscore,
    one_hot,
    preprocess_case,
    resize_classes,
    resize_classes_label_aware,
    resize_images,
    resize_onehot_bilinear,
)


def make_case(images: dict[str, np.ndarray], mask: np.ndarray | None) -> Case:
    """A Case built in memory (no files)."""
    return Case(
        case_id="TEST_001",
        images={name: volume.astype(np.float32) for name, volume in images.items()},
        mask=mask,
        affine=np.eye(4),
        header=nib.Nifti1Header(),
        spacing=(1.0, 1.0, 1.0),
        files=CaseFiles("TEST_001", Path("/nonexistent/TEST_001")),
    )


@pytest.fixture
def brain_volume() -> np.ndarray:
    """float32 (30, 26, 20): positive 'brain' values in a box, zeros (background) around it."""
    rng = np.random.default_rng(3)
    volume = np.zeros((30, 26, 20), dtype=np.float32)
    volume[5:25, 4:22, 3:17] = rng.gamma(4.0, 150.0, size=(20, 18, 14)) + 1
    return volume


# --- normalisation ---------------------------------------------------------------------------


def test_zscore_has_mean_zero_and_std_one_over_brain_voxels(brain_volume):
    normalised = normalise_zscore(brain_volume)
    brain = brain_volume > 0
    assert normalised.dtype == np.float32 and normalised.shape == brain_volume.shape
    assert abs(float(normalised[brain].mean())) < 1e-4
    assert abs(float(normalised[brain].std()) - 1.0) < 1e-4
    assert np.all(normalised[~brain] == 0)
    values = brain_volume[brain].astype(np.float64)
    expected = (values - values.mean()) / values.std()
    np.testing.assert_allclose(normalised[brain], expected, rtol=1e-5, atol=1e-5)


def test_zscore_statistics_ignore_background_and_negative_voxels(brain_volume):
    with_more_background = np.pad(brain_volume, 10)
    with_more_background[0, 0, 0] = -50.0  # not brain: <= 0
    inner = normalise_zscore(with_more_background)[10:-10, 10:-10, 10:-10]
    np.testing.assert_allclose(inner, normalise_zscore(brain_volume), atol=1e-6)
    assert normalise_zscore(with_more_background)[0, 0, 0] == 0


def test_zscore_of_empty_or_constant_brain_is_zero():
    assert not normalise_zscore(np.zeros((4, 4, 4))).any()
    constant = np.zeros((4, 4, 4))
    constant[1:3, 1:3, 1:3] = 7
    assert not normalise_zscore(constant).any()


def test_max_normalisation_divides_by_the_maximum(brain_volume):
    normalised = normalise_max(brain_volume)
    assert normalised.dtype == np.float32
    assert float(normalised.max()) == pytest.approx(1.0)
    np.testing.assert_allclose(normalised * brain_volume.max(), brain_volume, rtol=1e-6)
    assert not normalise_max(np.zeros((3, 3, 3))).any()


# --- resizing --------------------------------------------------------------------------------


def test_resize_images_shape_dtype_and_linear_interpolation():
    # A ramp along x, constant along y: linear interpolation must reproduce the ramp sampled at
    # the output pixel centres, (i + 0.5) * scale - 0.5, clamped to the edge pixels.
    slices, height, width = 3, 40, 24
    ramp = np.arange(height, dtype=np.float32)
    images = np.broadcast_to(ramp[None, :, None, None], (slices, height, width, 2)).copy()
    images[..., 1] *= -2.0
    resized = resize_images(images, 16)
    assert resized.shape == (slices, 16, 16, 2) and resized.dtype == np.float32
    centres = np.clip((np.arange(16) + 0.5) * height / 16 - 0.5, 0, height - 1)
    np.testing.assert_allclose(resized[0, :, 5, 0], centres, atol=1e-4)
    np.testing.assert_allclose(resized[2, :, 0, 1], -2.0 * centres, atol=1e-4)
    assert resize_images(images, (20, 12)).shape == (slices, 20, 12, 2)


def test_nearest_resize_keeps_the_label_set_and_block_values():
    rng = np.random.default_rng(0)
    coarse = rng.choice(np.array([0, 1, 2, 3], dtype=np.uint8), size=(4, 6, 6))
    fine = np.kron(coarse, np.ones((1, 4, 4), dtype=np.uint8))  # (4, 24, 24), 4x4 blocks
    resized = resize_classes(fine, 6)
    assert resized.dtype == np.uint8 and resized.shape == (4, 6, 6)
    np.testing.assert_array_equal(resized, coarse)
    odd = resize_classes(fine, 17)  # not a divisor: still no new values
    assert set(np.unique(odd)) <= set(np.unique(fine))


def test_nearest_resize_of_a_real_sized_mask_creates_no_new_labels():
    classes = np.zeros((2, 240, 240), dtype=np.uint8)
    yy, xx = np.mgrid[:240, :240]
    classes[:, (xx - 120) ** 2 + (yy - 110) ** 2 < 50**2] = 2
    classes[:, (xx - 120) ** 2 + (yy - 110) ** 2 < 25**2] = 3
    resized = resize_classes(classes, 128)
    assert set(np.unique(resized)) == {0, 2, 3}


def test_bilinear_one_hot_resize_gives_soft_non_one_hot_values():
    """The original notebook's pitfall: resized one-hot masks are not one-hot at edges."""
    classes = np.zeros((1, 240, 240), dtype=np.uint8)
    classes[0, 60:173, 50:181] = 2  # edges at odd positions relative to the 240 -> 128 grid
    classes[0, 100:131, 90:127] = 3
    soft = resize_onehot_bilinear(classes, 128)
    assert soft.shape == (1, 128, 128, 4) and soft.dtype == np.float32
    np.testing.assert_allclose(soft.sum(axis=-1), 1.0, atol=1e-5)
    not_one_hot = soft.max(axis=-1) < 1 - 1e-6
    assert not_one_hot.sum() > 10, "edges should hold blended values"
    fractional = soft[(soft > 1e-6) & (soft < 1 - 1e-6)]
    assert fractional.size > 0
    # Nearest neighbour on the same mask stays one class per pixel.
    hard = one_hot(resize_classes(classes, 128))
    assert set(np.unique(hard)) == {0.0, 1.0}


def test_label_aware_resize_is_one_class_per_pixel_and_exact_on_blocks():
    rng = np.random.default_rng(1)
    coarse = rng.choice(np.array([0, 1, 2, 3], dtype=np.uint8), size=(2, 5, 5))
    fine = np.kron(coarse, np.ones((1, 2, 2), dtype=np.uint8))
    resized = resize_classes_label_aware(fine, 5)
    assert resized.dtype == np.uint8
    np.testing.assert_array_equal(resized, coarse)


def test_upsample_probabilities_shape_and_sums():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((3, 16, 16, 4)).astype(np.float32)
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    upsampled = upsample_probabilities(probabilities, size=(30, 24))
    assert upsampled.shape == (3, 30, 24, 4) and upsampled.dtype == np.float32
    np.testing.assert_allclose(upsampled.sum(-1), 1.0, atol=1e-5)
    assert upsample_probabilities(probabilities[:1]).shape == (1, 240, 240, 4)


# --- whole cases -----------------------------------------------------------------------------


def window_case(depth: int = 30) -> Case:
    """Images whose value encodes the axial slice index; a mask whose label encodes it too.

    flair[:, :, z] = 100 + z and t1ce[:, :, z] = 1000 - z inside the brain (x < 32);
    label (z % 4 -> 0, 1, 2, 4) in the half x < 16, background elsewhere.
    Volumes are (32, 48, depth): x and y differ so that a transposition would show.
    """
    z = np.arange(depth, dtype=np.float32)
    flair = np.broadcast_to(100 + z, (32, 48, depth)).copy()
    t1ce = np.broadcast_to(1000 - z, (32, 48, depth)).copy()
    t2 = np.ones((32, 48, depth), dtype=np.float32)
    labels = np.array([0, 1, 2, 4], dtype=np.uint8)[np.arange(depth) % 4]
    mask = np.zeros((32, 48, depth), dtype=np.uint8)
    mask[:16] = labels
    return make_case({"flair": flair, "t1ce": t1ce, "t2": t2}, mask)


def test_preprocess_case_slice_window_channels_and_dtypes():
    case = window_case()
    settings = PreprocessingSettings(
        slice_start=5,
        slice_count=10,
        modalities=("t1ce", "flair"),
        normalisation="max",
        image_size=16,
    )
    images, classes = preprocess_case(case, settings)
    assert images.shape == (10, 16, 16, 2) and images.dtype == np.float16
    assert classes.shape == (10, 16, 16) and classes.dtype == np.uint8
    z = np.arange(5, 15)
    # Channel 0 is t1ce (order kept), max-normalised over the whole volume (max 1000 at z=0).
    np.testing.assert_allclose(images[:, 3, 7, 0], (1000 - z) / 1000, rtol=1e-3)
    np.testing.assert_allclose(images[:, 3, 7, 1], (100 + z) / 129, rtol=1e-3)
    # Mask: the labelled half is x < 16, i.e. the first half of axis 1 after resizing.
    expected = np.array([LABEL_TO_CLASS[label] for label in [0, 1, 2, 4]])[z % 4]
    np.testing.assert_array_equal(
        classes[:, :8, :], np.broadcast_to(expected[:, None, None], (10, 8, 16))
    )
    assert not classes[:, 8:, :].any()


def test_preprocess_case_single_modality_and_zscore_matches_parts():
    case = window_case()
    settings = PreprocessingSettings(
        slice_start=2, slice_count=6, modalities=("flair",), image_size=8
    )
    images, _ = preprocess_case(case, settings)
    assert images.shape == (6, 8, 8, 1)
    full = normalise_zscore(case.images["flair"])[:, :, 2:8]
    expected = resize_images(np.moveaxis(full, 2, 0)[..., None], 8).astype(np.float16)
    np.testing.assert_array_equal(images, expected)


def test_preprocess_case_without_mask_returns_none():
    case = window_case()
    case.mask = None
    images, classes = preprocess_case(
        case, PreprocessingSettings(slice_start=0, slice_count=4, image_size=8)
    )
    assert classes is None and images.shape == (4, 8, 8, 2)


def test_preprocess_case_errors_name_the_problem():
    case = window_case(depth=30)
    with pytest.raises(BratsDataError, match="window"):
        preprocess_case(case, PreprocessingSettings(slice_start=25, slice_count=10, image_size=8))
    with pytest.raises(BratsDataError, match="t1"):
        preprocess_case(
            case, PreprocessingSettings(slice_start=0, slice_count=4, modalities=("t1",))
        )


def test_label_aware_setting_gives_classes_from_the_mask():
    case = window_case()
    settings = PreprocessingSettings(
        slice_start=0, slice_count=8, image_size=16, mask_interpolation="label_aware"
    )
    _, classes = preprocess_case(case, settings)
    assert set(np.unique(classes)) <= {0, 1, 2, 3}
    assert classes.shape == (8, 16, 16)


def test_full_size_synthetic_case():
    from brats_tutorial.synthetic_anatomy import generate_case

    arrays = generate_case(5)
    case = make_case({m: arrays[m] for m in ("flair", "t1ce")}, arrays["seg"])
    images, classes = preprocess_case(case, PreprocessingSettings())
    assert images.shape == (100, 128, 128, 2) and images.dtype == np.float16
    assert classes.shape == (100, 128, 128) and classes.dtype == np.uint8
    expected_classes = {LABEL_TO_CLASS[int(v)] for v in np.unique(arrays["seg"][:, :, 22:122])}
    assert set(np.unique(classes)) <= expected_classes
    assert np.all(np.isfinite(images.astype(np.float32)))


# --- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_round_trip():
    settings = PreprocessingSettings(modalities=["t2", "flair"])
    assert settings.modalities == ("t2", "flair")
    assert (settings.slice_start, settings.slice_count, settings.image_size) == (22, 100, 128)
    assert settings.slice_stop == 122
    assert PreprocessingSettings.from_dict(settings.to_dict()) == settings


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"normalisation": "minmax"}, "normalisation"),
        ({"modalities": ("flair", "dwi")}, "unknown modalities"),
        ({"modalities": ("flair", "flair")}, "repeat"),
        ({"modalities": ()}, "at least one"),
        ({"modalities": "flair"}, "string"),
        ({"slice_start": -1}, "slice_start"),
        ({"slice_count": 0}, "slice_count"),
        ({"image_size": 0}, "image_size"),
        ({"image_size": 12.5}, "integer"),
        ({"mask_interpolation": "cubic"}, "mask_interpolation"),
    ],
)
def test_settings_validation(changes, message):
    with pytest.raises(ValueError, match=message):
        PreprocessingSettings(**changes)


@pytest.mark.real_data
def test_real_case_preprocessing():
    folder = sample_dir()
    if folder is None:
        pytest.skip("real BraTS sample not found (set BRATS_SAMPLE_DIR)")
    case = load_case(find_cases(folder)[0], ("flair", "t1ce"))
    images, classes = preprocess_case(case, PreprocessingSettings())
    assert images.shape == (100, 128, 128, 2) and classes.shape == (100, 128, 128)
    assert set(np.unique(classes)) <= {0, 1, 2, 3} and classes.any()
    flair = case.images["flair"]
    z = normalise_zscore(flair)[flair > 0]
    assert abs(float(z.mean())) < 1e-3 and abs(float(z.std()) - 1) < 1e-3
