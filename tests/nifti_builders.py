"""Tiny BraTS-like NIfTI cases for the reading-layer tests, written with nibabel directly."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

MODALITY_NAMES = ("flair", "t1", "t1ce", "t2")
SMALL_SHAPE = (8, 8, 6)


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Save ``data`` as NIfTI at ``path`` (``.nii`` or ``.nii.gz`` from the name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), path)
    return path


def make_image(shape=SMALL_SHAPE, seed=0) -> np.ndarray:
    """int16 image: random positive intensities inside a central box ("brain"), 0 outside."""
    rng = np.random.default_rng(seed)
    image = np.zeros(shape, np.int16)
    inner = tuple(slice(1, max(2, size - 1)) for size in shape)
    image[inner] = rng.integers(1, 1000, size=image[inner].shape)
    return image


def make_mask(shape=SMALL_SHAPE, seed=0, dtype=np.uint8) -> np.ndarray:
    """Labels {0, 1, 2, 4}: random tumour labels in a central box, background elsewhere."""
    rng = np.random.default_rng(seed + 1000)
    mask = np.zeros(shape, dtype)
    inner = tuple(slice(size // 4, max(size // 4 + 1, 3 * size // 4)) for size in shape)
    mask[inner] = rng.choice(np.array([0, 1, 2, 4]), size=mask[inner].shape)
    return mask


def write_case(
    folder: Path,
    case_id: str,
    shape=SMALL_SHAPE,
    suffix: str = ".nii.gz",
    modalities=MODALITY_NAMES,
    with_mask: bool = True,
    mask_name: str | None = None,
    seed: int = 0,
    affine: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Write one case's files ``<folder>/<case_id>_<kind><suffix>``.

    Returns:
        The arrays written: modality name to int16 image, and ``"seg"`` to the uint8 mask.
    """
    written: dict[str, np.ndarray] = {}
    for index, modality in enumerate(modalities):
        image = make_image(shape, seed=seed * 10 + index)
        write_nifti(folder / f"{case_id}_{modality}{suffix}", image, affine)
        written[modality] = image
    if with_mask:
        mask = make_mask(shape, seed=seed)
        write_nifti(folder / (mask_name or f"{case_id}_seg{suffix}"), mask, affine)
        written["seg"] = mask
    return written


def snapshot(folder: Path) -> dict[str, tuple[bool, int, int]]:
    """Every entry under ``folder``: relative path to (is folder, size, modification time ns)."""
    entries = {}
    for current, folder_names, file_names in os.walk(folder):
        for name in folder_names + file_names:
            path = Path(current) / name
            status = path.stat()
            entries[str(path.relative_to(folder))] = (
                path.is_dir(),
                0 if path.is_dir() else status.st_size,
                status.st_mtime_ns,
            )
    status = folder.stat()
    entries["."] = (True, 0, status.st_mtime_ns)
    return entries
