"""Whole-case inference: every axial slice, back to 240 x 240, labels {0, 1, 2, 4}, written as
NIfTI in the BraTS submission format (``<CASE>.nii.gz`` with the input's affine and header).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import nibabel as nib
import numpy as np

from .atomic import atomic_path
from .discovery import CaseFiles, find_cases
from .errors import BratsDataError
from .labels import classes_to_labels
from .loading import Case, load_case
from .preprocessing import PreprocessingSettings, preprocess_case, upsample_probabilities


def predict_probabilities(
    model: keras.Model, case: Case, settings: PreprocessingSettings, batch_size: int = 32
) -> np.ndarray:
    """Class probabilities for every axial slice of a case at the original in-plane size.

    Args:
        model: a trained U-Net, input (size, size, C) with C = len(settings.modalities).
        case: a loaded case holding at least ``settings.modalities``.
        settings: the preprocessing the model was trained with (its slice window is ignored:
            every slice is predicted).
        batch_size: slices per forward pass.

    Returns:
        float32 (X, Y, Z, 4): probabilities, in the volume's axis order.
    """
    depth = case.images[settings.modalities[0]].shape[2]
    all_slices = replace(settings, slice_start=0, slice_count=depth)
    image_only = replace(case, mask=None)
    images, _ = preprocess_case(image_only, all_slices)  # float16 (Z, size, size, C)
    outputs = []
    for start in range(0, depth, batch_size):
        batch = np.asarray(images[start : start + batch_size], dtype=np.float32)
        outputs.append(keras.ops.convert_to_numpy(model(batch, training=False)).astype(np.float32))
    probabilities = np.concatenate(outputs, axis=0)  # (Z, size, size, K)
    height, width = case.images[settings.modalities[0]].shape[:2]
    full_size = upsample_probabilities(probabilities, size=(height, width))  # (Z, X, Y, K)
    return np.transpose(full_size, (1, 2, 0, 3))


def predict_case(
    model: keras.Model, case: Case, settings: PreprocessingSettings, batch_size: int = 32
) -> np.ndarray:
    """Predicted label map of a whole case.

    Returns:
        uint8 (X, Y, Z), file labels {0, 1, 2, 4}, same shape as the case's images.
    """
    probabilities = predict_probabilities(model, case, settings, batch_size)
    return classes_to_labels(np.argmax(probabilities, axis=-1).astype(np.uint8))


def save_prediction(labels: np.ndarray, case: Case, output_dir: str | Path) -> Path:
    """Write ``<output_dir>/<case_id>.nii.gz`` with the case's affine and header, atomically.

    Args:
        labels: uint8 (X, Y, Z), labels {0, 1, 2, 4}.
        case: the case the prediction belongs to (affine and header are copied).
        output_dir: created if missing.

    Returns:
        The written path.
    """
    header = case.header.copy()
    header.set_data_dtype(np.uint8)
    image = nib.Nifti1Image(np.asarray(labels, dtype=np.uint8), case.affine, header=header)
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
) -> PredictionReport:
    """Predict every case of a folder (or those in ``case_ids``) and write them as NIfTI.

    A case that fails (missing or corrupt file) is recorded in the report and the others still
    finish. Nothing is written into ``data_dir``.

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
            labels = predict_case(model, case, settings)
            report.written.append(save_prediction(labels, case, output_dir))
        except BratsDataError as error:
            report.failed[case_files.case_id] = str(error)
    return report
