"""Input pipelines: tf.data (make_tf_dataset) and the backend-agnostic SliceDataset.

The slices are built so that every batch can be checked against its source: channel 0 of slice
``i`` holds ``i`` everywhere (which slice it is), channel 1 holds the row index ``x`` (whether it
was flipped), and the classes of slice ``i`` are ``(x + 2 y + i) % 4`` (what the mask must be).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from brats_tutorial.py_dataset import SliceDataset
from brats_tutorial.tf_data import distribution_strategy, make_tf_dataset

COUNT, HEIGHT, WIDTH = 37, 12, 10


def make_slices() -> tuple[np.ndarray, np.ndarray]:
    """images float16 (37, 12, 10, 2) and classes uint8 (37, 12, 10) encoding their origin."""
    index = np.arange(COUNT)[:, None, None]
    x = np.arange(HEIGHT)[None, :, None]
    y = np.arange(WIDTH)[None, None, :]
    images = np.zeros((COUNT, HEIGHT, WIDTH, 2), dtype=np.float16)
    images[..., 0] = index
    images[..., 1] = x
    classes = ((x + 2 * y + index) % 4).astype(np.uint8)
    return images, classes


def epochs_of(kind: str, epochs: int, **options) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Batches as NumPy arrays, epoch by epoch, from either pipeline."""
    images, classes = make_slices()
    if kind == "tf_data":
        dataset = make_tf_dataset(images, classes, **options)
        return [list(dataset.as_numpy_iterator()) for _ in range(epochs)]
    dataset = SliceDataset(images, classes, **options)
    result = []
    for _ in range(epochs):
        result.append([dataset[index] for index in range(len(dataset))])
        dataset.on_epoch_end()
    return result


def check_batch(
    batch_images: np.ndarray, masks: np.ndarray, one_hot: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Check a batch against its source slices; return (slice ids, flipped flags)."""
    ids = batch_images[:, 0, 0, 0].astype(int)
    assert np.all(batch_images[..., 0] == ids[:, None, None])
    rows = batch_images[:, :, 0, 1]
    flipped = rows[:, 0] == HEIGHT - 1
    x = np.arange(HEIGHT)
    expected_rows = np.where(flipped[:, None], x[::-1], x)
    np.testing.assert_array_equal(rows, expected_rows)
    source_x = expected_rows[:, :, None]
    y = np.arange(WIDTH)[None, None, :]
    expected_classes = (source_x + 2 * y + ids[:, None, None]) % 4
    if one_hot:
        assert masks.dtype == np.float32 and masks.shape[-1] == 4
        assert set(np.unique(masks)) <= {0.0, 1.0}
        np.testing.assert_array_equal(masks.sum(-1), 1.0)
        np.testing.assert_array_equal(masks.argmax(-1), expected_classes)
    else:
        assert masks.dtype == np.uint8
        np.testing.assert_array_equal(masks, expected_classes)
    return ids, flipped


PIPELINES = ["tf_data", "py_dataset"]


@pytest.mark.parametrize("kind", PIPELINES)
def test_shapes_and_dtypes(kind):
    (batches,) = epochs_of(kind, 1, batch_size=8, shuffle=False)
    assert len(batches) == 5  # 37 slices: 4 full batches and one of 5
    batch_images, masks = batches[0]
    assert batch_images.dtype == np.float32 and batch_images.shape == (8, HEIGHT, WIDTH, 2)
    assert masks.dtype == np.float32 and masks.shape == (8, HEIGHT, WIDTH, 4)
    assert batches[-1][0].shape[0] == 5
    images, _ = make_slices()
    np.testing.assert_array_equal(batch_images, images[:8].astype(np.float32))


@pytest.mark.parametrize("kind", PIPELINES)
@pytest.mark.parametrize("one_hot", [True, False])
def test_masks_match_their_images(kind, one_hot):
    (batches,) = epochs_of(kind, 1, batch_size=8, shuffle=True, one_hot=one_hot)
    for batch_images, masks in batches:
        ids, flipped = check_batch(batch_images, masks, one_hot)
        assert not flipped.any()


@pytest.mark.parametrize("kind", PIPELINES)
def test_shuffle_covers_every_slice_once_per_epoch_in_a_new_order(kind):
    epochs = epochs_of(kind, 2, batch_size=8, shuffle=True, seed=5)
    orders = []
    for batches in epochs:
        ids = np.concatenate([check_batch(b, m, True)[0] for b, m in batches])
        assert sorted(ids.tolist()) == list(range(COUNT))
        orders.append(ids)
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], np.arange(COUNT))
    again = np.concatenate(
        [b[:, 0, 0, 0] for b, _ in epochs_of(kind, 1, batch_size=8, shuffle=True, seed=5)[0]]
    )
    np.testing.assert_array_equal(again.astype(int), orders[0])  # reproducible from the seed


@pytest.mark.parametrize("kind", PIPELINES)
def test_flips_are_random_and_shared_by_image_and_mask(kind):
    epochs = epochs_of(kind, 2, batch_size=8, shuffle=True, augment=True, seed=1)
    flips_per_epoch = []
    for batches in epochs:
        flags = {}
        for batch_images, masks in batches:
            ids, flipped = check_batch(batch_images, masks, True)  # masks follow their images
            flags.update(zip(ids.tolist(), flipped.tolist()))
        assert sorted(flags) == list(range(COUNT))
        flips_per_epoch.append(np.array([flags[i] for i in range(COUNT)]))
    for flips in flips_per_epoch:
        assert 0 < flips.sum() < COUNT
    assert not np.array_equal(flips_per_epoch[0], flips_per_epoch[1])  # new draws each epoch


@pytest.mark.parametrize("kind", PIPELINES)
def test_augmentation_leaves_the_stored_arrays_untouched(kind):
    images, classes = make_slices()
    if kind == "tf_data":
        list(make_tf_dataset(images, classes, batch_size=8, augment=True).as_numpy_iterator())
    else:
        dataset = SliceDataset(images, classes, batch_size=8, augment=True)
        [dataset[index] for index in range(len(dataset))]
    expected_images, expected_classes = make_slices()
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(classes, expected_classes)


@pytest.mark.parametrize("kind", PIPELINES)
def test_drop_remainder_and_input_checks(kind):
    images, classes = make_slices()
    if kind == "tf_data":
        (batches,) = epochs_of(kind, 1, batch_size=8, drop_remainder=True)
        assert [b.shape[0] for b, _ in batches] == [8, 8, 8, 8]
        build = make_tf_dataset
    else:
        build = SliceDataset
    with pytest.raises(ValueError, match="classes"):
        build(images, classes[:, :5])
    with pytest.raises(ValueError, match="images"):
        build(images[..., 0], classes)


def test_tf_dataset_reads_memory_mapped_float16(tmp_path):
    images, classes = make_slices()
    np.save(tmp_path / "images.npy", images)
    mapped = np.load(tmp_path / "images.npy", mmap_mode="r")
    batches = list(
        make_tf_dataset(mapped, classes, batch_size=37, shuffle=False).as_numpy_iterator()
    )
    np.testing.assert_array_equal(batches[0][0], images.astype(np.float32))


def test_distribution_strategy_is_usable():
    strategy = distribution_strategy()
    assert strategy.num_replicas_in_sync >= 1


@pytest.mark.slow
def test_slice_dataset_trains_a_model_in_process():
    import keras

    images, classes = make_slices()
    model = keras.Sequential(
        [
            keras.Input((HEIGHT, WIDTH, 2)),
            keras.layers.Conv2D(4, 3, padding="same", activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    history = model.fit(
        SliceDataset(images, classes, batch_size=8, augment=True), epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.slow
def test_slice_dataset_trains_under_jax():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import keras
        from brats_tutorial.py_dataset import SliceDataset
        assert keras.backend.backend() == "jax", keras.backend.backend()
        rng = np.random.default_rng(0)
        images = rng.standard_normal((20, 12, 10, 2)).astype(np.float16)
        classes = rng.integers(0, 4, (20, 12, 10)).astype(np.uint8)
        model = keras.Sequential([keras.Input((12, 10, 2)),
                                  keras.layers.Conv2D(4, 3, padding="same", activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        dataset = SliceDataset(images, classes, batch_size=8, augment=True)
        history = model.fit(dataset, epochs=2, verbose=0)
        print("LOSSES", history.history["loss"])
        print("EPOCH", dataset.epoch)
        print("TENSORFLOW_IMPORTED", "tensorflow" in sys.modules)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [root, environment.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    losses_line = next(line for line in result.stdout.splitlines() if line.startswith("LOSSES"))
    losses = eval(losses_line.removeprefix("LOSSES"))  # a printed list of floats
    assert len(losses) == 2 and all(np.isfinite(losses))
    epoch_line = next(line for line in result.stdout.splitlines() if line.startswith("EPOCH"))
    # on_epoch_end ran after each epoch (Keras also calls it once when fit starts).
    assert int(epoch_line.split()[1]) >= 2
    assert "TENSORFLOW_IMPORTED False" in result.stdout  # no TensorFlow needed under JAX
