"""Constants of the BraTS data and of the course, defined once.

Labels in the files are {0, 1, 2, 4}; the network works with class indices {0, 1, 2, 3}.
Regions are the ones BraTS evaluates: whole tumour, tumour core and enhancing tumour.
"""

from __future__ import annotations

#: Modalities in the order the files are usually listed. ``t1ce`` is T1 after gadolinium.
MODALITIES: tuple[str, ...] = ("flair", "t1", "t1ce", "t2")
#: File suffix of the label map.
MASK_SUFFIX: str = "seg"
#: Modalities the original notebook stacks as channels (FLAIR, T1ce).
DEFAULT_MODALITIES: tuple[str, ...] = ("flair", "t1ce")

#: Label values found in BraTS label files.
FILE_LABELS: tuple[int, ...] = (0, 1, 2, 4)
#: Class index used by the network for each file label (4 becomes 3).
LABEL_TO_CLASS: dict[int, int] = {0: 0, 1: 1, 2: 2, 4: 3}
#: File label for each class index.
CLASS_TO_LABEL: dict[int, int] = {c: label for label, c in LABEL_TO_CLASS.items()}
NUM_CLASSES: int = 4
CLASS_NAMES: tuple[str, ...] = (
    "background",
    "necrotic / non-enhancing core",
    "oedema",
    "enhancing tumour",
)

#: BraTS regions as sets of file labels.
REGION_LABELS: dict[str, tuple[int, ...]] = {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)}
#: BraTS regions as sets of class indices.
REGION_CLASSES: dict[str, tuple[int, ...]] = {
    region: tuple(LABEL_TO_CLASS[label] for label in labels)
    for region, labels in REGION_LABELS.items()
}
REGIONS: tuple[str, ...] = ("WT", "TC", "ET")
REGION_NAMES: dict[str, str] = {
    "WT": "whole tumour",
    "TC": "tumour core",
    "ET": "enhancing tumour",
}

#: What the network predicts: "classes" (a softmax over the 4 classes, one class per pixel) or
#: "regions" (3 sigmoid channels WT, TC, ET, nested, trained per region as nnU-Net does).
TARGETS: tuple[str, ...] = ("classes", "regions")

#: Shape of every BraTS volume (x, y, z), 1 mm isotropic voxels.
VOLUME_SHAPE: tuple[int, int, int] = (240, 240, 155)
VOXEL_SPACING_MM: tuple[float, float, float] = (1.0, 1.0, 1.0)

#: Axial slice window of the original notebook: slices 22 to 121.
SLICE_START: int = 22
SLICE_COUNT: int = 100
#: In-plane size the slices are resized to.
IMAGE_SIZE: int = 128
#: Intensity normalisations of :class:`brats_tutorial.preprocessing.PreprocessingSettings`.
NORMALISATIONS: tuple[str, ...] = ("zscore", "max")
#: How masks are resized (see :class:`brats_tutorial.preprocessing.PreprocessingSettings`).
MASK_INTERPOLATIONS: tuple[str, ...] = ("nearest", "label_aware")

#: Number of cases of a synthetic data set unless told otherwise.
SYNTHETIC_CASES: int = 12

#: The Kaggle mirror of BraTS 2020 (training with masks, validation without).
KAGGLE_DATASET: str = "awsaf49/brats20-dataset-training-validation"
KAGGLE_DATASET_URL: str = f"https://www.kaggle.com/datasets/{KAGGLE_DATASET}"

#: HD95 that the BraTS evaluation reports when exactly one of prediction and reference is empty.
#: It is the diagonal of the 240 x 240 x 155 volume in mm, as in the BraTS ranking sheets.
HD95_ONE_EMPTY_MM: float = 373.12866

#: Smoothing term of the original notebook's Dice (``dice_coefficient(..., smooth=1e-6)``).
ORIGINAL_DICE_SMOOTH: float = 1e-6
#: ``keras.backend.epsilon()``, which the original notebook adds to its denominators.
KERAS_EPSILON: float = 1e-7

#: Files of a training run folder that ``brats-tutorial predict`` and ``evaluate`` read: the
#: patient split and the preprocessing settings (written by ``train`` and by the chapters).
RUN_SPLIT_FILE: str = "split.json"
RUN_SETTINGS_FILE: str = "preprocessing.json"
#: Run folder file with the inference settings (test-time mirroring, post-processing) that
#: ``brats-tutorial predict`` applies unless told otherwise.
RUN_INFERENCE_FILE: str = "inference.json"

#: Environment variable naming a real BraTS folder; when unset, chapters use synthetic data.
DATA_DIR_ENV: str = "BRATS_DATA_DIR"
#: Environment variable: "1" uses synthetic data when no real folder is given, in every profile.
SYNTHETIC_ENV: str = "BRATS_SYNTHETIC"
#: Environment variable naming the real BraTS 2018 sample used by integration tests.
SAMPLE_DIR_ENV: str = "BRATS_SAMPLE_DIR"
#: Environment variable selecting the profile ("quick" or "full").
PROFILE_ENV: str = "BRATS_PROFILE"
