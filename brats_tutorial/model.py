"""The 2D U-Net: configuration, presets, builder, parameter count, receptive field, and loading
a trained one (:func:`load_trained_model`).

The network maps a stack of MRI slices to per-pixel class probabilities:

- input: ``float32 (batch, H, W, C)``, by default ``(batch, 128, 128, 2)`` (FLAIR, T1ce), with
  H and W divisible by ``2 ** depth``;
- output: ``float32 (batch, H, W, num_classes)``, softmax over the last axis (classes 0-3, see
  :mod:`brats_tutorial.constants`).

Architecture (Ronneberger et al. 2015, with "same" padding so the output has the input's size):
each level applies two 3x3 convolutions, each followed by batch normalisation (when enabled) and
ReLU; the encoder halves the resolution with 2x2 max-pooling ``depth`` times and doubles the
number of filters; the decoder doubles the resolution (nearest-neighbour upsampling followed by a
2x2 convolution, or a 2x2 transposed convolution), concatenates the encoder features of the same
level (skip connection) and applies two 3x3 convolutions again. A 1x1 convolution with softmax
gives the class probabilities; that last layer computes in float32 so the output stays float32
under a mixed-precision policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import keras
from keras import layers

from .constants import DEFAULT_MODALITIES, IMAGE_SIZE, NUM_CLASSES, REGIONS, TARGETS

Upsampling = Literal["upsample_conv", "transpose"]
#: A Keras initializer: a name such as "he_normal", an Initializer, or a callable
#: ``(shape, dtype=None) -> array``.
Initializer = str | keras.initializers.Initializer | Callable[..., Any]
UPSAMPLING_CHOICES: tuple[str, ...] = ("upsample_conv", "transpose")

#: Default input shape: 128 x 128 slices with FLAIR and T1ce as channels.
DEFAULT_INPUT_SHAPE: tuple[int, int, int] = (IMAGE_SIZE, IMAGE_SIZE, len(DEFAULT_MODALITIES))
#: Name of the final 1x1 softmax layer (its input is the last feature map).
OUTPUT_LAYER_NAME: str = "class_probabilities"


@dataclass(frozen=True)
class UNetConfig:
    """Shape of a U-Net, independent of the input size and the number of classes.

    Attributes:
        base_filters: filters of the first level; level ``i`` has ``base_filters * 2**i``.
        depth: number of 2x2 max-poolings (the bottleneck is at resolution ``H / 2**depth``).
        batch_norm: batch normalisation between each convolution and its ReLU.
        dropout: rate of the dropout applied after the last encoder level and after the
            bottleneck (the two deepest levels, as in the original U-Net); 0 disables it.
        upsampling: ``"upsample_conv"`` (nearest-neighbour ``UpSampling2D(2)`` then a 2x2
            convolution) or ``"transpose"`` (a 2x2 transposed convolution with stride 2).
    """

    base_filters: int = 16
    depth: int = 4
    batch_norm: bool = True
    dropout: float = 0.0
    upsampling: Upsampling = "upsample_conv"

    def __post_init__(self) -> None:
        if self.base_filters < 1:
            raise ValueError(f"base_filters must be >= 1, got {self.base_filters}")
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.upsampling not in UPSAMPLING_CHOICES:
            raise ValueError(
                f"upsampling must be one of {UPSAMPLING_CHOICES}, got {self.upsampling!r}"
            )

    @property
    def filters(self) -> tuple[int, ...]:
        """Filters per level, from the first level to the bottleneck (``depth + 1`` values)."""
        return tuple(self.base_filters * 2**level for level in range(self.depth + 1))


#: Named configurations used by the chapters and the command line. Parameter counts are for
#: 128x128x2 input and 4 classes, batch-norm statistics included (:func:`count_parameters`).
#: Speeds come from ``benchmarks/bench_model_presets.py`` (TensorFlow backend, float32, batch 8
#: of 128x128x2, ``train_on_batch``) on this project's 2-core CPU while other jobs shared it, so
#: they are rough; two runs gave the two numbers quoted.
#:
#: ``"quick"``: 8-16-32-64 filters, 3 poolings, batch norm; 122,412 parameters. For CPUs and
#: CI: 40 and 21 training slices/s, so a few hundred slices take seconds per epoch.
#:
#: ``"full"``: 32-64-128-256-512 filters, 4 poolings, batch norm; 7,773,604 parameters. The
#: recommended default for real data on a GPU. Chosen for the speed/size trade-off, not for
#: accuracy (synthetic data cannot rank the candidates). Measured candidates, all depth 4 with
#: batch norm: base 16 (1,947,860 parameters) 11.7 and 6.1 slices/s; base 24 (4,375,996)
#: 3.0 and 2.1; base 32 (7,773,604) 2.9 and 1.5; base 32 with transposed convolutions 3.1 and
#: 1.7 (no faster, so the original's upsampling is kept). On a CPU the time grows with the
#: parameters (base 32 is 4x base 16 in both), which is why CPUs get ``"quick"``. Base 32 keeps
#: the width of the widely copied BraTS 2020 Kaggle U-Net (32-512 filters, 7,759,908 parameters
#: without batch norm) at a quarter of ``"original"``'s size. GPU speed was not measured (no GPU
#: here): run the benchmark on yours.
#:
#: ``"original"``: the original notebook's network exactly: 64-128-256-512-1024 filters, two
#: 3x3 ReLU convolutions per level (he_normal), max-pooling, ``UpSampling2D(2)`` +
#: ``Conv2D(f, 2, relu)`` + concatenation, no batch norm, dropout 0.5 after the two deepest
#: levels; 31,031,364 parameters.
PRESETS: dict[str, UNetConfig] = {
    "quick": UNetConfig(base_filters=8, depth=3, batch_norm=True, dropout=0.0),
    "full": UNetConfig(base_filters=32, depth=4, batch_norm=True, dropout=0.0),
    "original": UNetConfig(base_filters=64, depth=4, batch_norm=False, dropout=0.5),
}


def _conv_unit(
    inputs: keras.KerasTensor,
    filters: int,
    kernel_size: int,
    batch_norm: bool,
    name: str,
    kernel_initializer: Initializer,
) -> keras.KerasTensor:
    """Conv2D (same padding) then batch norm (optional) then ReLU."""
    if not batch_norm:
        return layers.Conv2D(
            filters,
            kernel_size,
            padding="same",
            activation="relu",
            kernel_initializer=kernel_initializer,
            name=f"{name}_conv",
        )(inputs)
    outputs = layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        kernel_initializer=kernel_initializer,
        name=f"{name}_conv",
    )(inputs)
    outputs = layers.BatchNormalization(name=f"{name}_bn")(outputs)
    return layers.Activation("relu", name=f"{name}_relu")(outputs)


def _double_conv(
    inputs: keras.KerasTensor,
    filters: int,
    batch_norm: bool,
    name: str,
    kernel_initializer: Initializer,
) -> keras.KerasTensor:
    """Two 3x3 convolution units of a U-Net level."""
    outputs = _conv_unit(inputs, filters, 3, batch_norm, f"{name}_1", kernel_initializer)
    return _conv_unit(outputs, filters, 3, batch_norm, f"{name}_2", kernel_initializer)


def _upsample(
    inputs: keras.KerasTensor,
    filters: int,
    config: UNetConfig,
    name: str,
    kernel_initializer: Initializer,
) -> keras.KerasTensor:
    """Double the resolution and set the number of channels to ``filters``."""
    if config.upsampling == "upsample_conv":
        outputs = layers.UpSampling2D(2, name=f"{name}_upsample")(inputs)
        return _conv_unit(outputs, filters, 2, config.batch_norm, f"{name}_up", kernel_initializer)
    outputs = layers.Conv2DTranspose(
        filters,
        2,
        strides=2,
        padding="same",
        activation=None if config.batch_norm else "relu",
        kernel_initializer=kernel_initializer,
        name=f"{name}_up_conv",
    )(inputs)
    if config.batch_norm:
        outputs = layers.BatchNormalization(name=f"{name}_up_bn")(outputs)
        outputs = layers.Activation("relu", name=f"{name}_up_relu")(outputs)
    return outputs


def build_unet(
    input_shape: tuple[int, int, int] = DEFAULT_INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    base_filters: int = 16,
    depth: int = 4,
    batch_norm: bool = True,
    dropout: float = 0.0,
    name: str = "unet",
    upsampling: Upsampling = "upsample_conv",
    kernel_initializer: Initializer = "he_normal",
    output_activation: str = "softmax",
) -> keras.Model:
    """Build a functional 2D U-Net (see the module docstring for the architecture).

    Args:
        input_shape: ``(H, W, C)``; H and W must be divisible by ``2 ** depth``.
        num_classes: channels of the softmax output.
        base_filters, depth, batch_norm, dropout, upsampling: see :class:`UNetConfig`.
        name: model name.
        kernel_initializer: initializer of every convolution kernel except the output layer's
            (which keeps Keras's default, Glorot uniform, as in the original notebook);
            biases start at zero.
        output_activation: "softmax" (one class per pixel, the course's default) or "sigmoid"
            (independent probabilities per output channel: region-based training, where the
            channels are the nested regions WT, TC, ET; see :data:`TARGETS`).

    Returns:
        An uncompiled ``keras.Model`` mapping ``float32 (B, H, W, C)`` to
        ``float32 (B, H, W, num_classes)`` softmax (or sigmoid) probabilities. Layers are computed in the
        global dtype policy, except the output layer (float32), so set the policy
        (:func:`brats_tutorial.device.apply_precision`) before calling this.

    Raises:
        ValueError: if H or W is not divisible by ``2 ** depth`` or a setting is out of range.
    """
    config = UNetConfig(
        base_filters=base_filters,
        depth=depth,
        batch_norm=batch_norm,
        dropout=dropout,
        upsampling=upsampling,
    )
    height, width = input_shape[0], input_shape[1]
    factor = 2**depth
    for size in (height, width):
        if size is not None and size % factor != 0:
            raise ValueError(
                f"input height and width must be divisible by 2**depth = {factor} "
                f"(depth={depth}), got input_shape={tuple(input_shape)}"
            )
    if output_activation not in ("softmax", "sigmoid"):
        raise ValueError(f"output_activation must be softmax or sigmoid, got {output_activation!r}")
    if num_classes < (2 if output_activation == "softmax" else 1):
        raise ValueError(f"num_classes must be >= 2 for a softmax output, got {num_classes}")

    filters = config.filters
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    skips: list[keras.KerasTensor] = []
    features = inputs
    for level in range(depth):
        features = _double_conv(
            features, filters[level], batch_norm, f"encoder{level}", kernel_initializer
        )
        if dropout > 0 and level == depth - 1:
            features = layers.Dropout(dropout, name=f"encoder{level}_dropout")(features)
        skips.append(features)
        features = layers.MaxPooling2D(2, name=f"encoder{level}_pool")(features)

    features = _double_conv(features, filters[depth], batch_norm, "bottleneck", kernel_initializer)
    if dropout > 0:
        features = layers.Dropout(dropout, name="bottleneck_dropout")(features)

    for level in reversed(range(depth)):
        upsampled = _upsample(
            features, filters[level], config, f"decoder{level}", kernel_initializer
        )
        features = layers.Concatenate(axis=-1, name=f"decoder{level}_concat")(
            [skips[level], upsampled]
        )
        features = _double_conv(
            features, filters[level], batch_norm, f"decoder{level}", kernel_initializer
        )

    outputs = layers.Conv2D(
        num_classes, 1, activation=output_activation, dtype="float32", name=OUTPUT_LAYER_NAME
    )(features)
    return keras.Model(inputs, outputs, name=name)


def build_model(
    preset: str | UNetConfig = "quick",
    input_shape: tuple[int, int, int] = DEFAULT_INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    kernel_initializer: Initializer = "he_normal",
    target: str = "classes",
) -> keras.Model:
    """Build the U-Net of a named preset (``"quick"``, ``"full"``, ``"original"``) or a config.

    Args:
        preset: a key of :data:`PRESETS` or a :class:`UNetConfig`.
        input_shape: ``(H, W, C)``, H and W divisible by ``2 ** depth``.
        num_classes: channels of the softmax output (ignored for ``target="regions"``).
        kernel_initializer: see :func:`build_unet`.
        target: "classes" (softmax over the 4 classes) or "regions" (3 sigmoid channels: WT,
            TC, ET, as nnU-Net trains for BraTS); see :data:`TARGETS`.

    Returns:
        ``keras.Model`` named ``unet_<preset>`` (``unet`` for a config), see :func:`build_unet`.

    Raises:
        ValueError: for an unknown preset name.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {list(TARGETS)}, got {target!r}")
    if target == "regions":
        num_classes = len(REGIONS)
    if isinstance(preset, UNetConfig):
        config, name = preset, "unet"
    else:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        config, name = PRESETS[preset], f"unet_{preset}"
    return build_unet(
        input_shape=input_shape,
        num_classes=num_classes,
        base_filters=config.base_filters,
        depth=config.depth,
        batch_norm=config.batch_norm,
        dropout=config.dropout,
        name=name,
        upsampling=config.upsampling,
        kernel_initializer=kernel_initializer,
        output_activation="sigmoid" if target == "regions" else "softmax",
    )


def count_parameters(model: keras.Model) -> int:
    """All parameters of a model: trainable and non-trainable (batch-norm statistics included)."""
    return int(model.count_params())


def _encoder_input_interval(level: int, low: int, high: int) -> tuple[int, int]:
    """Input pixels (1D, inclusive) that the encoder output of ``level`` at ``[low, high]`` sees.

    Level ``depth`` is the bottleneck. Two 3x3 "same" convolutions widen an interval by 2 on
    each side; going back through a 2x2 max-pooling maps ``[a, b]`` to ``[2a, 2b + 1]``.
    """
    low, high = low - 2, high + 2
    if level == 0:
        return low, high
    return _encoder_input_interval(level - 1, 2 * low, 2 * high + 1)


def _decoder_input_interval(config: UNetConfig, level: int, low: int, high: int) -> tuple[int, int]:
    """Input pixels (1D, inclusive) that the decoder output of ``level`` at ``[low, high]`` sees.

    "Same" padding of a k-wide kernel puts ``(k - 1) // 2`` zeros before the input (Keras on
    TensorFlow and JAX alike), so a 2x2 convolution at ``i`` reads ``i`` and ``i + 1``.
    Nearest-neighbour upsampling and a stride-2 transposed convolution both read ``i // 2``.
    The concatenation sees the union of the skip path and the upsampled path.
    """
    if level == config.depth:
        return _encoder_input_interval(config.depth, low, high)
    low, high = low - 2, high + 2  # two 3x3 convolutions after the concatenation
    skip_low, skip_high = _encoder_input_interval(level, low, high)
    if config.upsampling == "upsample_conv":
        high = high + 1  # the 2x2 convolution after upsampling
    deep_low, deep_high = _decoder_input_interval(config, level + 1, low // 2, high // 2)
    return min(skip_low, deep_low), max(skip_high, deep_high)


def receptive_field(config: UNetConfig | str) -> int:
    """Receptive field of one output pixel, in input pixels along one axis.

    Computed from the architecture (the 1x1 output layer adds nothing). Because pooling and
    upsampling make the network periodic with period ``2 ** depth``, the field depends slightly
    on the pixel's position; this returns the largest width over all positions. The field is a
    square of this side (at most) centred near the pixel; pixels near the border see zero padding.

    Args:
        config: a :class:`UNetConfig` or a preset name.

    Returns:
        Width in pixels: 108 for ``"quick"`` (depth 3), 220 for ``"full"`` and ``"original"``
        (depth 4), so a 128x128 slice is seen whole from its centre.
    """
    if isinstance(config, str):
        config = PRESETS[config]
    widths = []
    for position in range(2**config.depth):
        low, high = _decoder_input_interval(config, 0, position, position)
        widths.append(high - low + 1)
    return max(widths)


def load_trained_model(path: str | Path) -> keras.Model:
    """Load a model saved by :func:`brats_tutorial.training.train` (``best.keras`` or
    ``last.keras``) for inference.

    The model is not compiled. The package's losses and metrics are registered with Keras first
    (importing :mod:`brats_tutorial.losses` and :mod:`brats_tutorial.training_metrics`), so the
    names a saved training configuration refers to are known after loading.
    """
    from . import losses, training_metrics  # noqa: F401  (registers the custom objects)

    return keras.models.load_model(path, compile=False)
