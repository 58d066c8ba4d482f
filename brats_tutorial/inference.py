"""Whole-case inference: every axial slice, back to 240 x 240, labels {0, 1, 2, 4}, written as
NIfTI in the BraTS submission format (``<CASE>.nii.gz`` with the input's affine and header).

Predictions are computed in the course's labels {0, 1, 2, 4} and written in the numbers of the
data's own release (:mod:`brats_tutorial.releases`): enhancing tumour is 4 for BraTS 2018-2021,
3 for BraTS 2023+ adult glioma, and MSD Task01's files use 1 oedema, 2 non-enhancing tumour,
3 enhancing tumour. ``brats-tutorial evaluate`` reads them back in that same convention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import nibabel as nib
import numpy as np

from .atomic import atomic_path
from .discovery import CaseFiles, find_cases
from .errors import BratsDataError
from .labels import classes_to_labels, regions_to_labels
from .loading import Case, load_case
from .postprocessing import PostprocessingSettings, postprocess_labels
from .preprocessing import PreprocessingSettings, preprocess_case, resize_images
from .releases import Release, get_release
from .slice_context import context_from_channels, neighbour_indices, stack_neighbours


@dataclass(frozen=True)
class InferenceSettings:
    """How a trained model turns a case into labels, besides the preprocessing.

    Attributes:
        mirror: test-time augmentation by mirroring: average the predictions of the slices as
            they are, mirrored left-right, mirrored front-back, and both (4 forward passes).
        postprocessing: see :mod:`brats_tutorial.postprocessing`.
    """

    mirror: bool = False
    postprocessing: PostprocessingSettings = field(default_factory=PostprocessingSettings)

    def to_dict(self) -> dict[str, Any]:
        return {"mirror": self.mirror, "postprocessing": asdict(self.postprocessing)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InferenceSettings:
        return cls(
            mirror=bool(data.get("mirror", False)),
            postprocessing=PostprocessingSettings(**data.get("postprocessing", {})),
        )


def upsample_probabilities(
    probabilities: np.ndarray, size: int | tuple[int, int] = (240, 240)
) -> np.ndarray:
    """Resize predicted probabilities back to the original in-plane size, linearly.

    Used at inference: the network predicts at 128 x 128, the labels are compared (and written)
    at 240 x 240. Linear interpolation of probabilities keeps each pixel's sum at 1.

    Args:
        probabilities: float32 (S, h, w, K).
        size: output side, or (height, width); BraTS volumes are (240, 240).

    Returns:
        float32 (S, height, width, K).
    """
    return resize_images(probabilities, size)


def _forward(model: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """float32 (S, h, w, K): the model's output for float32 (S, h, w, C) slices, in batches."""
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = np.asarray(images[start : start + batch_size], dtype=np.float32)
        outputs.append(keras.ops.convert_to_numpy(model(batch, training=False)).astype(np.float32))
    return np.concatenate(outputs, axis=0)


def predict_probabilities(
    model: keras.Model,
    case: Case,
    settings: PreprocessingSettings,
    batch_size: int = 32,
    mirror: bool = False,
) -> np.ndarray:
    """Class (or region) probabilities for every axial slice of a case at the original size.

    A model with more input channels than modalities gets each slice with its neighbours
    (2.5D, :mod:`brats_tutorial.slice_context`): ``k`` is read from the model's input.

    Args:
        model: a trained U-Net, input (size, size, (2k + 1) C) with C = len(settings.modalities).
        case: a loaded case holding at least ``settings.modalities``.
        settings: the preprocessing the model was trained with (its slice window is ignored:
            every slice is predicted).
        batch_size: slices per forward pass.
        mirror: average over the 4 mirrorings of each slice (test-time augmentation).

    Returns:
        float32 (X, Y, Z, K): softmax probabilities of the 4 classes, or sigmoid probabilities
        of WT, TC, ET for a region-based model, in the volume's axis order.
    """
    depth = case.images[settings.modalities[0]].shape[2]
    all_slices = replace(settings, slice_start=0, slice_count=depth)
    image_only = replace(case, mask=None)
    images, _ = preprocess_case(image_only, all_slices)  # float16 (Z, size, size, C)
    context = context_from_channels(int(model.input_shape[-1]), settings.num_channels)
    if context:
        images = stack_neighbours(images, neighbour_indices(np.arange(depth), depth, context))
    probabilities = _forward(model, images, batch_size)  # (Z, size, size, K)
    if mirror:
        for axes in ((1,), (2,), (1, 2)):
            mirrored = np.flip(images, axis=axes)
            probabilities += np.flip(_forward(model, mirrored, batch_size), axis=axes)
        probabilities /= 4
    height, width = case.images[settings.modalities[0]].shape[:2]
    full_size = upsample_probabilities(probabilities, size=(height, width))  # (Z, X, Y, K)
    return np.transpose(full_size, (1, 2, 0, 3))


def labels_from_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """File labels from the output of :func:`predict_probabilities`.

    Args:
        probabilities: float32 (..., 4) softmax over classes (argmax), or (..., 3) sigmoid
            regions WT, TC, ET (each >= 0.5, rebuilt with
            :func:`brats_tutorial.labels.regions_to_labels`).

    Returns:
        uint8 (...), labels {0, 1, 2, 4}.
    """
    if probabilities.shape[-1] == 3:
        regions = probabilities >= 0.5
        return regions_to_labels(regions[..., 0], regions[..., 1], regions[..., 2])
    return classes_to_labels(np.argmax(probabilities, axis=-1).astype(np.uint8))


def predict_case(
    model: keras.Model,
    case: Case,
    settings: PreprocessingSettings,
    batch_size: int = 32,
    inference: InferenceSettings | None = None,
) -> np.ndarray:
    """Predicted label map of a whole case.

    Args:
        inference: mirroring and post-processing (default: neither).

    Returns:
        uint8 (X, Y, Z), file labels {0, 1, 2, 4}, same shape as the case's images.
    """
    inference = inference or InferenceSettings()
    probabilities = predict_probabilities(
        model, case, settings, batch_size, mirror=inference.mirror
    )
    return postprocess_labels(labels_from_probabilities(probabilities), inference.postprocessing)


def save_prediction(
    labels: np.ndarray,
    case: Case,
    output_dir: str | Path,
    release: str | Release | None = None,
) -> Path:
    """Write ``<output_dir>/<case_id>.nii.gz`` with the case's affine and header, atomically.

    Args:
        labels: uint8 (X, Y, Z), course labels {0, 1, 2, 4}.
        case: the case the prediction belongs to (affine and header are copied).
        output_dir: created if missing.
        release: the label convention of the written file (a key of
            :data:`brats_tutorial.releases.RELEASES`); ``None``: the case's own release.

    Returns:
        The written path. Its labels are the release's: {0, 1, 2, 4} for BraTS 2018-2021,
        {0, 1, 2, 3} for GLI and MSD (see :meth:`brats_tutorial.releases.Release.from_course_labels`).
    """
    release = case.files.release if release is None else get_release(release)
    header = case.header.copy()
    header.set_data_dtype(np.uint8)
    file_labels = release.from_course_labels(np.asarray(labels, dtype=np.uint8))
    image = nib.Nifti1Image(file_labels, case.affine, header=header)
    image.header.set_slope_inter(1.0, 0.0)
    path = Path(output_dir) / f"{case.case_id}.nii.gz"
    with atomic_path(path, suffix=".nii.gz") as temporary:
        nib.save(image, temporary)
    return path


@dataclass
class PredictionReport:
    """Outcome of :func:`predict_folder`: written files and failed cases with the reason."""

    written: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def format(self) -> str:
        lines = [f"{len(self.written)} predictions written, {len(self.failed)} failed"]
        lines += [f"  FAILED {case_id}: {reason}" for case_id, reason in self.failed.items()]
        return "\n".join(lines)


def predict_folder(
    model: keras.Model,
    data_dir: str | Path,
    output_dir: str | Path,
    settings: PreprocessingSettings,
    case_ids: list[str] | None = None,
    progress: bool = True,
    inference: InferenceSettings | None = None,
    release: str | Release | None = None,
) -> PredictionReport:
    """Predict every case of a folder (or those in ``case_ids``) and write them as NIfTI.

    A case that fails (missing or corrupt file) is recorded in the report and the others still
    finish. Nothing is written into ``data_dir``. ``inference``: mirroring and post-processing
    (default: neither). ``release``: the label convention of the written files (default: the
    data's own release, see :func:`save_prediction`).

    Raises:
        BratsDataError: if ``output_dir`` lies inside ``data_dir``.
    """
    data_dir, output_dir = Path(data_dir).resolve(), Path(output_dir).resolve()
    if output_dir == data_dir or data_dir in output_dir.parents:
        raise BratsDataError(output_dir, "output folder is inside the data folder; choose another")
    cases: list[CaseFiles] = find_cases(data_dir)
    if case_ids is not None:
        wanted = set(case_ids)
        cases = [c for c in cases if c.case_id in wanted]
    report = PredictionReport()
    iterator = cases
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(cases, desc="predicting", unit="case")
    for case_files in iterator:
        try:
            case = load_case(case_files, settings.modalities, load_mask=False)
            labels = predict_case(model, case, settings, inference=inference)
            report.written.append(save_prediction(labels, case, output_dir, release))
        except BratsDataError as error:
            report.failed[case_files.case_id] = str(error)
    return report


#: Thresholds tried by :func:`choose_inference_settings`, in voxels (1 mm^3 each in BraTS).
COMPONENT_CANDIDATES: tuple[int, ...] = (0, 10, 50, 100, 250, 500)
ENHANCING_CANDIDATES: tuple[int, ...] = (0, 50, 100, 200, 300, 500, 750, 1000)


def choose_inference_settings(
    model: keras.Model,
    cases: list[CaseFiles],
    settings: PreprocessingSettings,
    mirror: bool = False,
    component_candidates: tuple[int, ...] = COMPONENT_CANDIDATES,
    enhancing_candidates: tuple[int, ...] = ENHANCING_CANDIDATES,
    progress: bool = False,
) -> tuple[InferenceSettings, dict[str, dict[int, float]]]:
    """Choose the post-processing thresholds on some patients: validation patients, never test.

    Predicts each case once, then tries every small-component threshold (keeping the one with
    the best mean of the WT, TC and ET Dice) and, after it, every enhancing-tumour threshold
    (best mean ET Dice, see :func:`brats_tutorial.postprocessing.choose_min_enhancing_voxels`).
    On a tie the smaller threshold wins, so a step that does not help stays off.

    Args:
        model: the trained model.
        cases: labelled cases (with masks), e.g. the validation patients of the split.
        settings: the run's preprocessing settings.
        mirror: predict with test-time mirroring (as the run will).

    Returns:
        ``(inference_settings, scores)``: the chosen settings (with ``mirror``) and the mean Dice
        of each candidate, ``{"components": {threshold: mean Dice}, "enhancing": {...}}``.
    """
    from .labels import region_mask
    from .postprocessing import best_threshold, choose_min_enhancing_voxels, remove_small_components
    from .volume_metrics import dice

    if not cases:
        raise ValueError("no cases to choose the post-processing on")
    predictions, references = [], []
    iterator = cases
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(cases, desc="choosing post-processing", unit="case")
    for case_files in iterator:
        case = load_case(case_files, settings.modalities, load_mask=True)
        probabilities = predict_probabilities(model, case, settings, mirror=mirror)
        predictions.append(labels_from_probabilities(probabilities))
        references.append(case.mask)

    def mean_region_dice(labels_list: list[np.ndarray]) -> float:
        return float(
            np.mean(
                [
                    dice(region_mask(labels, region), region_mask(reference, region))
                    for labels, reference in zip(labels_list, references)
                    for region in ("WT", "TC", "ET")
                ]
            )
        )

    component_scores = {
        int(threshold): mean_region_dice(
            [remove_small_components(labels, threshold) for labels in predictions]
        )
        for threshold in component_candidates
    }
    components = best_threshold(component_scores)
    cleaned = [remove_small_components(labels, components) for labels in predictions]
    enhancing, enhancing_scores = choose_min_enhancing_voxels(
        cleaned, references, enhancing_candidates
    )
    chosen = InferenceSettings(
        mirror=mirror,
        postprocessing=PostprocessingSettings(
            min_component_voxels=components, min_enhancing_voxels=enhancing
        ),
    )
    return chosen, {"components": component_scores, "enhancing": enhancing_scores}
