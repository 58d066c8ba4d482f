"""Tests of brats_tutorial.model: shapes, dtypes, parameter counts, receptive field.

Runs under the TensorFlow and JAX backends (``KERAS_BACKEND=jax pytest tests/test_model.py``).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from brats_tutorial.model import (
    OUTPUT_LAYER_NAME,
    PRESETS,
    UNetConfig,
    build_model,
    build_unet,
    count_parameters,
    receptive_field,
)


def numpy_he_normal(shape, dtype=None) -> np.ndarray:
    """He-normal kernels drawn with NumPy.

    Under JAX each new kernel shape compiles Keras's random initializer (about a second per
    shape on a small CPU), so tests that only need some non-trivial weights use this instead.
    """
    generator = np.random.default_rng(abs(hash(tuple(shape))) % 2**32)
    fan_in = int(np.prod(shape[:-1]))
    return generator.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype("float32")


def expected_parameters(config: UNetConfig, input_channels: int, num_classes: int) -> int:
    """Parameter count from the U-Net's definition, layer by layer (independent of Keras).

    A k x k convolution (or transposed convolution) from ``c_in`` to ``c_out`` channels has
    ``k*k*c_in*c_out + c_out`` parameters; a batch norm over ``c`` channels has ``4*c``
    (gamma, beta, moving mean, moving variance).
    """

    def conv(kernel: int, channels_in: int, channels_out: int) -> int:
        total = kernel * kernel * channels_in * channels_out + channels_out
        if config.batch_norm:
            total += 4 * channels_out
        return total

    filters = [config.base_filters * 2**level for level in range(config.depth + 1)]
    total, channels = 0, input_channels
    for level in range(config.depth + 1):  # encoder levels and bottleneck
        total += conv(3, channels, filters[level]) + conv(3, filters[level], filters[level])
        channels = filters[level]
    for level in reversed(range(config.depth)):
        total += conv(2, channels, filters[level])  # 2x2 up-convolution
        total += conv(3, 2 * filters[level], filters[level])  # after the concatenation
        total += conv(3, filters[level], filters[level])
        channels = filters[level]
    return total + channels * num_classes + num_classes  # 1x1 softmax layer, no batch norm


@pytest.fixture(scope="module")
def quick_model() -> keras.Model:
    return build_model("quick", kernel_initializer=numpy_he_normal)


def test_quick_output_shape_and_softmax(quick_model):
    images = np.random.default_rng(0).normal(size=(2, 128, 128, 2)).astype(np.float32)
    probabilities = quick_model.predict(images, verbose=0)
    assert probabilities.shape == (2, 128, 128, 4)
    assert probabilities.dtype == np.float32
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "input_shape, num_classes, config",
    [
        ((64, 96, 4), 3, UNetConfig(base_filters=4, depth=2, batch_norm=False)),
        ((32, 32, 1), 2, UNetConfig(base_filters=4, depth=3, upsampling="transpose")),
        ((16, 16, 2), 4, UNetConfig(base_filters=2, depth=4, dropout=0.3)),
    ],
)
def test_output_shape_follows_input_and_classes(input_shape, num_classes, config):
    model = build_model(
        config,
        input_shape=input_shape,
        num_classes=num_classes,
        kernel_initializer=numpy_he_normal,
    )
    assert tuple(model.output.shape) == (None, *input_shape[:2], num_classes)
    images = np.ones((1, *input_shape), dtype=np.float32)
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (1, *input_shape[:2], num_classes)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)


def test_build_unet_rejects_sizes_not_divisible_by_pooling():
    with pytest.raises(ValueError, match="divisible"):
        build_unet(input_shape=(100, 128, 2), depth=3)


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError):
        UNetConfig(upsampling="bilinear")
    with pytest.raises(ValueError):
        UNetConfig(dropout=1.0)
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("huge")


def test_output_stays_float32_under_mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_unet(input_shape=(32, 32, 2), base_filters=2, depth=1)  # he_normal
        inner = model.get_layer("encoder0_1_conv")
        assert inner.compute_dtype == "bfloat16"
        assert inner.kernel.dtype == "float32"  # weights stay float32
        assert model.get_layer(OUTPUT_LAYER_NAME).compute_dtype == "float32"
        images = np.random.default_rng(1).normal(size=(2, 32, 32, 2)).astype(np.float32)
        probabilities = model.predict(images, verbose=0)
        assert probabilities.dtype == np.float32
        np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("preset", ["quick", "full"])
def test_preset_parameter_count_matches_formula(preset):
    model = build_model(preset, kernel_initializer=numpy_he_normal)
    assert count_parameters(model) == expected_parameters(PRESETS[preset], 2, 4)


@pytest.mark.parametrize(
    "config",
    [
        UNetConfig(base_filters=4, depth=2, batch_norm=False),
        UNetConfig(base_filters=6, depth=3, upsampling="transpose"),
    ],
)
def test_config_parameter_count_matches_formula(config):
    model = build_model(
        config, input_shape=(32, 32, 3), num_classes=5, kernel_initializer=numpy_he_normal
    )
    assert count_parameters(model) == expected_parameters(config, 3, 5)
    weights_total = sum(int(np.prod(weight.shape)) for weight in model.weights)
    assert count_parameters(model) == weights_total


def test_original_preset_is_the_classic_31_million_parameter_unet():
    config = PRESETS["original"]
    assert config.filters == (64, 128, 256, 512, 1024)
    assert not config.batch_norm and config.dropout == 0.5
    assert config.upsampling == "upsample_conv"
    model = build_model("original", kernel_initializer=numpy_he_normal)
    parameters = count_parameters(model)
    assert parameters == expected_parameters(config, 2, 4)
    # The classic U-Net (zhixuhao/unet) is quoted as "31M parameters".
    assert 30_500_000 < parameters < 31_500_000
    layer_types = {type(layer).__name__ for layer in model.layers}
    assert "BatchNormalization" not in layer_types
    assert "UpSampling2D" in layer_types
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.rate for layer in dropouts] == [0.5, 0.5]
    up_convolutions = [layer for layer in model.layers if layer.name.endswith("_up_conv")]
    assert [layer.kernel_size for layer in up_convolutions] == [(2, 2)] * 4
    assert all(layer.activation is keras.activations.relu for layer in up_convolutions)


def test_default_kernel_initializer_is_he_normal():
    model = build_unet(input_shape=(16, 16, 2), base_filters=2, depth=1)
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convolutions) == 8
    for layer in convolutions:
        expected = (
            keras.initializers.GlorotUniform
            if layer.name == OUTPUT_LAYER_NAME
            else keras.initializers.HeNormal
        )
        assert isinstance(layer.kernel_initializer, expected), layer.name


def test_quick_preset_is_small_and_full_is_moderate(quick_model):
    assert count_parameters(quick_model) < 300_000
    full = build_model("full", kernel_initializer=numpy_he_normal)
    assert 1_000_000 < count_parameters(full) < 15_000_000


def _impulse_receptive_field(config: UNetConfig, width: int, height: int = 8) -> int:
    """Measure the receptive field by putting a single 1 in an all-zero input.

    All kernels are positive averaging filters and all biases zero, so every feature is
    non-negative and a feature is non-zero exactly when some path connects it to the impulse.
    Batch item ``q`` has its impulse at column ``q`` of the middle row; output column ``p`` of
    that row is influenced by the columns ``q`` whose output is non-zero there.
    """
    model = build_model(config, input_shape=(height, width, 2), kernel_initializer="zeros")
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            kernel, bias = layer.get_weights()
            kernel_height, kernel_width, in_or_out, out_or_in = kernel.shape
            channels_in = (
                out_or_in if isinstance(layer, keras.layers.Conv2DTranspose) else in_or_out
            )
            fan_in = kernel_height * kernel_width * channels_in
            layer.set_weights(
                [np.full(kernel.shape, 1.0 / fan_in, np.float32), np.zeros_like(bias)]
            )
    features = keras.Model(model.input, model.get_layer(OUTPUT_LAYER_NAME).input)
    row = height // 2
    impulses = np.zeros((width, height, width, 2), np.float32)
    impulses[np.arange(width), row, np.arange(width), :] = 1.0
    responses = features.predict(impulses, batch_size=width, verbose=0)[:, row]
    influenced = np.any(responses != 0, axis=-1)  # (impulse column q, output column p)
    assert np.all(responses >= 0)
    widths = []
    for column in range(width // 2 - 8, width // 2 + 8):  # two periods of a depth-3 network
        sources = np.flatnonzero(influenced[:, column])
        assert sources[0] > 0 and sources[-1] < width - 1, "field clipped by the border"
        assert sources.size == sources[-1] - sources[0] + 1, "field has holes"
        widths.append(sources[-1] - sources[0] + 1)
    return max(widths)


@pytest.mark.parametrize(
    "config",
    [
        PRESETS["quick"],
        UNetConfig(base_filters=2, depth=2, batch_norm=False, upsampling="transpose"),
    ],
    ids=["quick", "tiny_transpose"],
)
def test_receptive_field_matches_impulse_measurement(config):
    computed = receptive_field(config)
    period = 2**config.depth
    width = period * -(-(2 * computed + 32) // period)  # room for the field on both sides
    assert _impulse_receptive_field(config, width) == computed


def test_receptive_field_grows_with_depth():
    fields = [receptive_field(UNetConfig(base_filters=4, depth=depth)) for depth in (1, 2, 3, 4)]
    assert fields == sorted(fields) and len(set(fields)) == 4
    assert receptive_field("full") == receptive_field(PRESETS["full"])
