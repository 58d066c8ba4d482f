"""Synthetic BraTS-like data sets on disk: the course's data when no real BraTS is configured.

Files follow BraTS 2020 exactly: ``<output>/BraTS20_Training_NNN/BraTS20_Training_NNN_<kind>.nii``
with kind in {flair, t1, t1ce, t2, seg}, 240 x 240 x 155 voxels of 1 mm, the real files' LPS
affine, int16 images and a uint8 mask with labels {0, 1, 2, 4}. Every file is written atomically,
and the marker ``synthetic.json`` records the parameters and whether the data set is complete
(:func:`generate_dataset`).

The brains, tumours and intensities themselves come from :mod:`brats_tutorial.synthetic_anatomy`.

Determinism: case ``index`` of a data set with seed ``seed`` is
``generate_case(case_seed(seed, index), low_grade=is_low_grade(seed, index))``, independent of how
many cases the data set holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np

from .atomic import atomic_path, save_json_atomic
from .constants import MASK_SUFFIX, MODALITIES, SYNTHETIC_CASES, VOXEL_SPACING_MM
from .errors import BratsDataError
from .synthetic_anatomy import LOW_GRADE_BLOCK, generate_case

#: Voxel-to-world matrix of the real BraTS files (LPS orientation, 1 mm voxels).
BRATS_AFFINE: np.ndarray = np.array(
    [[-1.0, 0.0, 0.0, -0.0], [0.0, -1.0, 0.0, 239.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)
#: Name pattern of the case folders, as in BraTS 2020.
CASE_PREFIX: str = "BraTS20_Training_"
#: Marker file written once the whole data set is on disk, holding the parameters.
MARKER_NAME: str = "synthetic.json"
#: Increase when the generator's output (:mod:`brats_tutorial.synthetic_anatomy` or the files)
#: changes, so old data sets are not taken as current.
GENERATOR_VERSION: int = 1


def case_id(index: int) -> str:
    """BraTS 2020 case name of case ``index``, e.g. ``case_id(7) == "BraTS20_Training_007"``."""
    return f"{CASE_PREFIX}{index:03d}"


def case_seed(seed: int, index: int) -> np.random.SeedSequence:
    """Seed of case ``index`` in the data set with seed ``seed`` (independent of its size)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    return np.random.SeedSequence([int(seed), int(index)])


def is_low_grade(seed: int, index: int) -> bool:
    """Whether case ``index`` (counted from 1) of the data set with seed ``seed`` is low grade.

    Cases 1-5, 6-10, ... form blocks of :data:`LOW_GRADE_BLOCK`; the seed picks one case per block,
    so exactly one case in five is low grade over whole blocks.
    """
    if index < 1:
        raise ValueError(f"case indices start at 1, got {index}")
    block, position = divmod(index - 1, LOW_GRADE_BLOCK)
    # A third entropy word keeps this stream apart from the cases' own seeds.
    chosen = np.random.default_rng([int(seed), block, 1_000_003]).integers(LOW_GRADE_BLOCK)
    return bool(position == chosen)


def case_file_names(case_name: str, compressed: bool = False) -> dict[str, str]:
    """File name of each kind (four modalities and ``"seg"``) of one case."""
    suffix = ".nii.gz" if compressed else ".nii"
    return {kind: f"{case_name}_{kind}{suffix}" for kind in (*MODALITIES, MASK_SUFFIX)}


def save_nifti(path: str | Path, array: np.ndarray, affine: np.ndarray = BRATS_AFFINE) -> None:
    """Write ``array`` as NIfTI-1 with the BraTS header conventions, atomically.

    Args:
        path: target ``.nii`` or ``.nii.gz`` file.
        array: int16 image or uint8 mask, (240, 240, 155); stored with its own dtype.
        affine: float64 (4, 4), stored as both qform and sform with code "scanner" (1).
    """
    image = nib.Nifti1Image(array, affine)
    image.header.set_data_dtype(array.dtype)
    image.header.set_xyzt_units("mm")
    image.header.set_zooms(VOXEL_SPACING_MM)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    with atomic_path(path) as temporary:
        nib.save(image, temporary)


def _parameters(n_cases: int, seed: int, compressed: bool, start_index: int) -> dict:
    return {
        "generator": "brats_tutorial.synthetic",
        "version": GENERATOR_VERSION,
        "n_cases": n_cases,
        "seed": seed,
        "compressed": compressed,
        "start_index": start_index,
    }


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _progress(items: range, enabled: bool, total: int) -> Iterator[int]:
    if not enabled:
        return iter(items)
    from tqdm.auto import tqdm

    return iter(tqdm(items, total=total, desc="synthetic cases", unit="case"))


def generate_dataset(
    output_dir: str | Path,
    n_cases: int = SYNTHETIC_CASES,
    seed: int = 0,
    compressed: bool = False,
    start_index: int = 1,
    progress: bool = False,
) -> list[Path]:
    """Write a synthetic data set in the BraTS 2020 layout; do nothing if it is already there.

    Layout: ``output_dir/BraTS20_Training_NNN/BraTS20_Training_NNN_{flair,t1,t1ce,t2,seg}.nii``
    (``.nii.gz`` when ``compressed``), NNN from ``start_index`` to ``start_index + n_cases - 1``.
    Each file is written atomically. The marker ``synthetic.json`` holds the parameters; it says
    ``"complete": false`` while cases are being written and ``true`` once all are, so an interrupted
    run is finished by the next call (keeping the cases it completed) and a complete one is
    returned at once.

    Files are only ever overwritten when the marker shows this function wrote them with the same
    parameters; nothing is deleted.

    Args:
        output_dir: folder to write to (created if missing).
        n_cases: number of cases, >= 1.
        seed: data set seed, >= 0; case NNN depends only on (seed, NNN).
        compressed: write ``.nii.gz`` instead of ``.nii``.
        start_index: number of the first case, >= 1.
        progress: show a tqdm progress bar.

    Returns:
        The case folders, in order.

    Raises:
        BratsDataError: if ``output_dir`` is a file, holds a synthetic data set made with other
            parameters, or holds case files this function did not write.
    """
    if n_cases < 1 or seed < 0 or start_index < 1:
        raise ValueError(
            f"need n_cases >= 1, seed >= 0, start_index >= 1; got {n_cases}, {seed}, {start_index}"
        )
    output_dir = Path(output_dir).expanduser()
    if output_dir.exists() and not output_dir.is_dir():
        raise BratsDataError(output_dir, "is not a folder")
    parameters = _parameters(int(n_cases), int(seed), bool(compressed), int(start_index))
    indices = range(start_index, start_index + n_cases)
    folders = [output_dir / case_id(index) for index in indices]
    targets = [
        folder / name
        for folder in folders
        for name in case_file_names(folder.name, compressed).values()
    ]
    marker_path = output_dir / MARKER_NAME
    marker = _read_marker(marker_path) if marker_path.exists() else None
    if marker is not None:
        differences = [
            f"{key}={marker.get(key)!r} (asked for {value!r})"
            for key, value in parameters.items()
            if marker.get(key) != value
        ]
        if differences:
            raise BratsDataError(
                output_dir,
                "holds a synthetic data set made with other parameters: "
                + ", ".join(differences)
                + "; use another folder, or delete this one",
            )
        if marker.get("complete") and all(path.is_file() for path in targets):
            return folders
    elif marker_path.exists():
        raise BratsDataError(marker_path, "unreadable marker file; delete it to regenerate")
    else:
        existing = [path for path in targets if path.exists()]
        if existing:
            raise BratsDataError(
                existing[0],
                "exists but was not written by generate_dataset (no synthetic.json marker); "
                "refusing to overwrite it. Use an empty folder",
            )

    # An interrupted run with the same parameters left whole files only (atomic writes): its
    # complete cases are kept, the others written.
    resuming = marker is not None
    output_dir.mkdir(parents=True, exist_ok=True)
    save_json_atomic(marker_path, {**parameters, "complete": False})
    for index in _progress(indices, progress, n_cases):
        name = case_id(index)
        paths = {
            kind: output_dir / name / file_name
            for kind, file_name in case_file_names(name, compressed).items()
        }
        if resuming and all(path.is_file() for path in paths.values()):
            continue
        case = generate_case(case_seed(seed, index), low_grade=is_low_grade(seed, index))
        for kind, path in paths.items():
            save_nifti(path, case[kind])
    save_json_atomic(
        marker_path,
        {**parameters, "complete": True, "cases": [folder.name for folder in folders]},
    )
    return folders
