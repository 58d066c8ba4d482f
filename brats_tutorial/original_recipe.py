"""The original notebook's recipe, trained and applied as it was, so the book can show its outcome.

The recipe, step by step (each step reuses the package's own function):

- data: axial slices 22 to 121 (:data:`~brats_tutorial.constants.SLICE_START`,
  :data:`~brats_tutorial.constants.SLICE_COUNT`), FLAIR and T1ce as two channels, each volume
  divided by its maximum (:func:`~brats_tutorial.preprocessing.normalise_max`, no z-scoring),
  resized bilinearly (:func:`~brats_tutorial.preprocessing.resize_images`);
- targets: the label map one-hot encoded (labels 0, 1, 2, 4 -> classes 0..3) and *then* resized
  bilinearly (:func:`~brats_tutorial.preprocessing.resize_onehot_bilinear`): soft targets;
- network: the U-Net without batch normalisation (preset ``"original"``: 64 to 1024 filters,
  dropout 0.5), or a smaller configuration for a CPU, still without batch normalisation;
- training: Adam with learning rate 1e-3, loss cross-entropy ``+ 1 -`` the background-included
  Dice (:func:`~brats_tutorial.losses.original_loss`), metrics the notebook's Dice, sensitivity
  and specificity, all three pooled over the four channels, background included.

Those metrics are about the voxel accuracy: a network that predicts no tumour anywhere reads
about 0.98 on each. :func:`predict_original_recipe` turns the trained network into a label map of
the whole case, so the BraTS region Dice (:func:`brats_tutorial.evaluation.evaluate_case`) can say
what the network really finds.

Everything stays in memory (14 patients of 100 slices at 64 x 64 take about 140 MB); only
``keras.ops`` and ``fit`` are used, so it runs under the TensorFlow and the JAX backend alike.

>>> config = OriginalRecipeConfig(image_size=64, model=UNetConfig(8, 3, False, 0.5), epochs=2)
>>> config.input_shape
(64, 64, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from .constants import DEFAULT_MODALITIES, IMAGE_SIZE, NUM_CLASSES, SLICE_COUNT, SLICE_START
from .device import apply_precision
from .errors import BratsDataError
from .inference import upsample_probabilities
from .labels import classes_to_labels, labels_to_classes
from .loading import Case
from .losses import original_dice_coefficient, original_loss
from .model import PRESETS, UNetConfig, build_model
from .preprocessing import normalise_max, resize_images, resize_onehot_bilinear
from .training_metrics import original_sensitivity, original_specificity

__all__ = [
    "ORIGINAL_METRIC_NAMES",
    "OriginalRecipeConfig",
    "original_images",
    "original_targets",
    "original_slices",
    "stack_cases",
    "build_original_model",
    "train_original_recipe",
    "predict_original_classes",
    "predict_original_recipe",
]

#: Names of the notebook's metrics in a Keras history (``val_`` + name for validation).
ORIGINAL_METRIC_NAMES: tuple[str, ...] = (
    "original_dice_coefficient",
    "original_sensitivity",
    "original_specificity",
)
#: The original notebook's slice window, slices 22 to 121.
ORIGINAL_WINDOW: slice = slice(SLICE_START, SLICE_START + SLICE_COUNT)


@dataclass(frozen=True)
class OriginalRecipeConfig:
    """Settings of one training run of the original recipe.

    The defaults are the original's, meant for a GPU. On a CPU, shrink the image and the network
    (e.g. ``image_size=64, model=UNetConfig(base_filters=8, depth=3, batch_norm=False,
    dropout=0.5)``); batch normalisation must stay off, it is part of the recipe.

    Attributes:
        image_size: in-plane size of the slices (128 in the original); divisible by
            ``2 ** depth`` of the network.
        model: a preset name of :data:`brats_tutorial.model.PRESETS` without batch normalisation
            (``"original"``) or a :class:`~brats_tutorial.model.UNetConfig` with
            ``batch_norm=False``.
        epochs: passes over the training slices.
        batch_size: slices per step (100: the original generator's batch of one patient).
        learning_rate: Adam's learning rate, constant (1e-3 in the original).
        seed: seeds the weights, dropout and the shuffling of slices.

    Raises:
        ValueError: for a network with batch normalisation, an unknown preset, or a value out of
            range.
    """

    image_size: int = IMAGE_SIZE
    model: str | UNetConfig = "original"
    epochs: int = 35
    batch_size: int = SLICE_COUNT
    learning_rate: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.model, str) and self.model not in PRESETS:
            raise ValueError(f"unknown preset {self.model!r}; choose one of {sorted(PRESETS)}")
        if self.unet_config.batch_norm:
            raise ValueError(
                "the original recipe has no batch normalisation: use the preset 'original' or a "
                "UNetConfig with batch_norm=False"
            )
        if self.image_size < 1 or self.image_size % 2**self.unet_config.depth:
            raise ValueError(
                f"image_size must be a positive multiple of 2**depth = "
                f"{2**self.unet_config.depth}, got {self.image_size}"
            )
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("epochs and batch_size must be >= 1 and learning_rate > 0")

    @property
    def unet_config(self) -> UNetConfig:
        """The network's :class:`~brats_tutorial.model.UNetConfig` (a preset's, or ``model``)."""
        return PRESETS[self.model] if isinstance(self.model, str) else self.model

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(image_size, image_size, 2)``: FLAIR and T1ce."""
        return (self.image_size, self.image_size, len(DEFAULT_MODALITIES))


def _check_window(case: Case, depth: int) -> None:
    if depth < ORIGINAL_WINDOW.stop:
        raise BratsDataError(
            case.files.folder,
            f"case {case.case_id} has {depth} axial slices; the original window "
            f"{ORIGINAL_WINDOW.start}..{ORIGINAL_WINDOW.stop - 1} needs {ORIGINAL_WINDOW.stop}",
        )


def original_images(case: Case, image_size: int = IMAGE_SIZE) -> np.ndarray:
    """The slices the original network sees: FLAIR and T1ce, divided by their maximum, resized.

    Each modality is divided by the maximum of its whole volume (all 155 slices), then slices
    22 to 121 are kept and resized bilinearly. Values lie in [0, 1]; a channel's maximum is 1
    only where the volume's brightest voxel lies inside the window (and survives the resizing).

    Args:
        case: a loaded case holding ``"flair"`` and ``"t1ce"``, images float32 (X, Y, Z).
        image_size: output side in pixels.

    Returns:
        float32 (100, image_size, image_size, 2), channels (FLAIR, T1ce).

    Raises:
        BratsDataError: when a modality is missing or the volume has fewer than 122 slices.
    """
    missing = [m for m in DEFAULT_MODALITIES if m not in case.images]
    if missing:
        raise BratsDataError(
            case.files.folder, f"case {case.case_id}: modalities {missing} were not loaded"
        )
    _check_window(case, case.images[DEFAULT_MODALITIES[0]].shape[2])
    channels = [normalise_max(case.images[m])[:, :, ORIGINAL_WINDOW] for m in DEFAULT_MODALITIES]
    stacked = np.moveaxis(np.stack(channels, axis=-1), 2, 0)  # float32 (100, X, Y, 2)
    return resize_images(stacked, image_size)


def original_targets(case: Case, image_size: int = IMAGE_SIZE) -> np.ndarray:
    """The original's training targets: one-hot label maps resized bilinearly (soft targets).

    Args:
        case: a loaded case with a mask, uint8 (X, Y, Z), labels {0, 1, 2, 4}.
        image_size: output side in pixels.

    Returns:
        float32 (100, image_size, image_size, 4), classes (background, necrosis, oedema,
        enhancing); every pixel sums to 1, and along class borders values lie strictly
        between 0 and 1.

    Raises:
        BratsDataError: when the case has no mask, or fewer than 122 slices.
    """
    if case.mask is None:
        raise BratsDataError(case.files.folder, f"case {case.case_id} has no label map")
    _check_window(case, case.mask.shape[2])
    window = case.mask[:, :, ORIGINAL_WINDOW]
    classes = np.moveaxis(labels_to_classes(window, case.files.mask or case.case_id), 2, 0)
    return resize_onehot_bilinear(np.ascontiguousarray(classes), image_size, NUM_CLASSES)


def original_slices(case: Case, image_size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Images and soft targets of one case, as the original notebook built them.

    Returns:
        ``(images, targets)``: float32 (100, S, S, 2) (see :func:`original_images`) and float32
        (100, S, S, 4) (see :func:`original_targets`), S = ``image_size``.
    """
    return original_images(case, image_size), original_targets(case, image_size)


def stack_cases(cases: Sequence[Case], image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`original_slices` of several cases, concatenated along the slice axis.

    Returns:
        float32 (100 * len(cases), S, S, 2) and float32 (100 * len(cases), S, S, 4).
    """
    if not cases:
        raise ValueError("no cases to stack")
    pairs = [original_slices(case, image_size) for case in cases]
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def build_original_model(config: OriginalRecipeConfig) -> keras.Model:
    """The recipe's U-Net, compiled as in the original notebook.

    Adam with a constant learning rate, loss :func:`~brats_tutorial.losses.original_loss`,
    metrics the notebook's Dice, sensitivity and specificity (:data:`ORIGINAL_METRIC_NAMES`).
    Builds in float32 (sets Keras's global dtype policy), as the original did.

    Returns:
        A compiled ``keras.Model``: float32 (B, S, S, 2) -> float32 (B, S, S, 4) softmax.
    """
    apply_precision("float32")
    model = build_model(config.unet_config, input_shape=config.input_shape, num_classes=NUM_CLASSES)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=original_loss,
        metrics=[original_dice_coefficient, original_sensitivity, original_specificity],
    )
    return model


def train_original_recipe(
    config: OriginalRecipeConfig,
    training_cases: Sequence[Case],
    validation_cases: Sequence[Case] = (),
    verbose: int | str = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> tuple[keras.Model, pd.DataFrame]:
    """Train the original recipe in memory on whole patients.

    Seeds Keras, NumPy and Python with ``config.seed`` first, so that on the CPU the same
    configuration and cases give the same run. Slices are shuffled across patients every epoch.

    Args:
        config: see :class:`OriginalRecipeConfig`.
        training_cases: loaded cases with masks (FLAIR, T1ce).
        validation_cases: loaded cases with masks, scored after every epoch; may be empty.
        verbose: passed to ``fit``.
        callbacks: extra Keras callbacks for ``fit`` (e.g. a timer).

    Returns:
        ``(model, history)``: the trained model and one row per epoch (column ``epoch`` from 0),
        with ``loss`` and the :data:`ORIGINAL_METRIC_NAMES` columns, plus ``val_`` columns
        when there are validation cases.
    """
    keras.utils.set_random_seed(config.seed)
    train_images, train_targets = stack_cases(training_cases, config.image_size)
    validation_data = None
    if validation_cases:
        validation_data = stack_cases(validation_cases, config.image_size)
    model = build_original_model(config)
    history = model.fit(
        train_images,
        train_targets,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=validation_data,
        shuffle=True,
        verbose=verbose,
        callbacks=list(callbacks),
    )
    table = pd.DataFrame(history.history)
    table.insert(0, "epoch", range(len(table)))
    return model, table


def predict_original_classes(
    model: keras.Model, case: Case, image_size: int, batch_size: int = 20
) -> np.ndarray:
    """Predicted classes of the window's slices at the volume's in-plane size.

    The network's probabilities at ``image_size`` are resized linearly back to (X, Y)
    (:func:`~brats_tutorial.inference.upsample_probabilities`, as the course's own inference
    does), then each pixel takes its most likely class.

    Returns:
        uint8 (100, X, Y), class indices {0, 1, 2, 3}, slices 22 to 121.
    """
    images = original_images(case, image_size)
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    height, width = case.images[DEFAULT_MODALITIES[0]].shape[:2]
    full_size = upsample_probabilities(np.asarray(probabilities, np.float32), (height, width))
    return np.argmax(full_size, axis=-1).astype(np.uint8)


def predict_original_recipe(
    model: keras.Model, case: Case, image_size: int, batch_size: int = 20
) -> np.ndarray:
    """Label map of a whole case from the original recipe's network.

    Only slices 22 to 121 are predicted (the original never saw the others); the rest of the
    volume is background.

    Args:
        model: trained by :func:`train_original_recipe` at this ``image_size``.
        case: a loaded case with FLAIR and T1ce (its mask is not used).
        image_size: the side the model was trained at.
        batch_size: slices per forward pass.

    Returns:
        uint8 (X, Y, Z), e.g. (240, 240, 155), file labels {0, 1, 2, 4}.
    """
    classes = predict_original_classes(model, case, image_size, batch_size)
    volume = np.zeros(case.images[DEFAULT_MODALITIES[0]].shape, dtype=np.uint8)
    volume[:, :, ORIGINAL_WINDOW] = np.moveaxis(classes, 0, 2)
    return classes_to_labels(volume)
