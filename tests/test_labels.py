"""Label <-> class conversions and BraTS region masks, against definitions written out here."""

from __future__ import annotations

import numpy as np
import pytest

from brats_tutorial.errors import BratsDataError
from brats_tutorial.labels import (
    check_labels,
    classes_to_labels,
    labels_to_classes,
    region_mask,
    region_mask_from_classes,
)


# The BraTS definitions, written independently of brats_tutorial.constants:
# label 1 necrotic / non-enhancing core, 2 oedema, 4 enhancing tumour.
def whole_tumour(labels: np.ndarray) -> np.ndarray:
    return labels > 0


def tumour_core(labels: np.ndarray) -> np.ndarray:
    return (labels == 1) | (labels == 4)


def enhancing_tumour(labels: np.ndarray) -> np.ndarray:
    return labels == 4


INDEPENDENT_REGIONS = {"WT": whole_tumour, "TC": tumour_core, "ET": enhancing_tumour}


def random_labels(shape=(7, 9, 5), seed=0, dtype=np.uint8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([0, 1, 2, 4]), size=shape).astype(dtype)


def test_each_label_maps_to_its_class_and_back():
    labels = np.array([0, 1, 2, 4], dtype=np.uint8)
    classes = labels_to_classes(labels)
    # Labels 0, 1, 2 keep their value; 4 becomes the last class 3.
    np.testing.assert_array_equal(classes, [0, 1, 2, 3])
    np.testing.assert_array_equal(classes_to_labels(classes), labels)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32])
def test_round_trip_on_volumes_of_any_stored_dtype(dtype):
    labels = random_labels(dtype=dtype)
    classes = labels_to_classes(labels)
    assert classes.dtype == np.uint8
    assert classes.shape == labels.shape
    np.testing.assert_array_equal(classes, np.where(labels == 4, 3, labels))
    back = classes_to_labels(classes)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, labels.astype(np.uint8))


def test_classes_round_trip():
    classes = np.random.default_rng(1).integers(0, 4, size=(6, 6, 3))
    np.testing.assert_array_equal(labels_to_classes(classes_to_labels(classes)), classes)


def test_empty_arrays_convert():
    assert labels_to_classes(np.zeros((0, 3), np.uint8)).shape == (0, 3)
    assert classes_to_labels(np.zeros((0,), np.uint8)).shape == (0,)


@pytest.mark.parametrize("region", ["WT", "TC", "ET"])
def test_region_masks_match_the_brats_definitions(region):
    labels = random_labels(seed=2)
    expected = INDEPENDENT_REGIONS[region](labels)
    from_labels = region_mask(labels, region)
    from_classes = region_mask_from_classes(labels_to_classes(labels), region)
    assert from_labels.dtype == bool and from_classes.dtype == bool
    np.testing.assert_array_equal(from_labels, expected)
    np.testing.assert_array_equal(from_classes, expected)


def test_regions_are_nested_and_oedema_is_only_in_whole_tumour():
    labels = random_labels(seed=3)
    whole, core, enhancing = (region_mask(labels, r) for r in ("WT", "TC", "ET"))
    assert np.all(whole[core]) and np.all(core[enhancing])
    oedema = labels == 2
    assert np.all(whole[oedema]) and not np.any(core[oedema])


@pytest.mark.parametrize(
    "bad_values",
    [[3], [5], [255], [-1], [1.5]],
    ids=["3", "5", "255", "minus-1", "1.5"],
)
def test_unknown_labels_raise_naming_the_source_and_the_values(bad_values):
    labels = np.array([0, 1, 2, 4, *bad_values])
    with pytest.raises(BratsDataError) as caught:
        labels_to_classes(labels, source="case_seg.nii.gz")
    message = str(caught.value)
    assert "case_seg.nii.gz" in message
    assert "unknown label" in message
    for value in bad_values:
        assert str(value) in message
    with pytest.raises(BratsDataError):
        check_labels(labels, "case_seg.nii.gz")


def test_valid_labels_pass_the_check():
    check_labels(random_labels(dtype=np.int16))  # no exception


@pytest.mark.parametrize("bad_class", [4, -1])
def test_class_indices_out_of_range_raise(bad_class):
    with pytest.raises(ValueError, match="0..3"):
        classes_to_labels(np.array([0, 1, bad_class]))
