"""Load BraTS volumes and cases from NIfTI files, with explicit dtypes and clear errors.

Every release is read into the course's one convention (:mod:`brats_tutorial.releases`): images
by course modality ("flair", "t1", "t1ce", "t2"), masks as labels {0, 1, 2, 4}. A Decathlon
case's images are channels of one 4D file, each read on its own.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from .constants import MODALITIES
from .discovery import CaseFiles
from .errors import BratsDataError
from .releases import BRATS_2018_2020, Release, get_release


@dataclass
class Volume:
    """One NIfTI volume.

    Attributes:
        data: the voxel array, (240, 240, 155) for BraTS; float32 for images, uint8 labels
            {0, 1, 2, 4} for masks.
        affine: float64 (4, 4) voxel-to-world matrix.
        header: the file's NIfTI header.
        path: the file it came from.
    """

    data: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header
    path: Path

    @property
    def spacing(self) -> tuple[float, ...]:
        """Voxel size in mm along each axis."""
        return tuple(float(z) for z in self.header.get_zooms()[:3])


@dataclass
class Case:
    """A loaded BraTS case.

    Attributes:
        case_id: e.g. ``"BraTS20_Training_001"``.
        images: modality to float32 (240, 240, 155) array, for the modalities asked for.
        mask: uint8 (240, 240, 155), course labels {0, 1, 2, 4} whatever the release; ``None``
            when the case has none.
        affine: float64 (4, 4), shared by all files of the case.
        header: header of the first image file (copy it when writing predictions).
        spacing: voxel size in mm, (x, y, z).
        files: where the arrays came from.
    """

    case_id: str
    images: dict[str, np.ndarray]
    mask: np.ndarray | None
    affine: np.ndarray
    header: nib.Nifti1Header
    spacing: tuple[float, ...]
    files: CaseFiles

    def stack(self, modalities: tuple[str, ...] | list[str]) -> np.ndarray:
        """Stack modalities as channels: float32 (X, Y, Z, len(modalities))."""
        return np.stack([self.images[m] for m in modalities], axis=-1)


_READ_ERRORS = (nib.filebasedimages.ImageFileError, EOFError, zlib.error, OSError, ValueError)


def _cannot_read(path: Path, error: Exception) -> BratsDataError:
    detail = " ".join(str(error).split())  # one line: nibabel's messages hold newlines
    return BratsDataError(path, f"cannot read as NIfTI ({type(error).__name__}: {detail})")


def _read(path: Path, channel: int | None = None) -> tuple[nib.Nifti1Image, np.ndarray]:
    """The image and its voxels: the whole 3D volume, or one channel of a 4D image.

    A channel is read through the image's ``dataobj`` (``dataobj[..., channel]``), so the 4D
    array is never held in memory; only that channel's voxels are returned.
    """
    if not path.exists():
        raise BratsDataError(path, "file does not exist")
    try:
        image = nib.load(path)
        if channel is not None:
            if len(image.shape) != 4:
                raise BratsDataError(
                    path, f"expected a 4D image (one channel per sequence), got shape {image.shape}"
                )
            if not 0 <= channel < image.shape[3]:
                raise BratsDataError(
                    path,
                    f"has {image.shape[3]} channels, no channel {channel} (shape {image.shape})",
                )
            raw = np.asanyarray(image.dataobj[..., channel])
        else:
            raw = np.asanyarray(image.dataobj)
    except _READ_ERRORS as error:
        if isinstance(error, BratsDataError):
            raise
        raise _cannot_read(path, error) from error
    if raw.ndim != 3:
        raise BratsDataError(path, f"expected a 3D volume, got shape {raw.shape}")
    return image, raw


def load_volume(
    path: str | Path,
    is_mask: bool = False,
    release: str | Release = BRATS_2018_2020,
    channel: int | None = None,
) -> Volume:
    """Read one NIfTI file (or one channel of a 4D one).

    Args:
        path: a ``.nii`` or ``.nii.gz`` file.
        is_mask: read as a label map (checked for the release's labels and mapped to the
            course's {0, 1, 2, 4}, returned as uint8) instead of an image (returned as float32,
            checked for finite values).
        release: the release whose label numbers the mask uses (a key of
            :data:`brats_tutorial.releases.RELEASES` or a :class:`~brats_tutorial.releases.Release`).
        channel: for a 4D image (the Decathlon's), the channel to read; ``None`` for a 3D file.

    Returns:
        The :class:`Volume`; a channel's ``header`` is a copy of the 4D header made 3D.

    Raises:
        BratsDataError: naming the file, if it is missing, not a readable 3D NIfTI (or, with
            ``channel``, a 4D one with that channel), holds NaN or infinite voxels, or (masks)
            holds values the release does not allow (e.g. 3 in BraTS 2018-2021, 4 in GLI).
    """
    path = Path(path)
    release = get_release(release)
    image, raw = _read(path, channel)
    header = image.header
    if channel is not None:
        header = image.header.copy()
        header.set_data_shape(raw.shape)
    if is_mask:
        if not np.issubdtype(raw.dtype, np.integer):
            if not np.all(np.isfinite(raw)):
                raise BratsDataError(path, "mask holds NaN or infinite values")
            if not np.all(raw == np.round(raw)):
                raise BratsDataError(path, "mask holds non-integer values")
        data = release.to_course_labels(raw, path)
    else:
        data = raw.astype(np.float32)
        if not np.all(np.isfinite(data)):
            count = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
            raise BratsDataError(path, f"{count} voxels are NaN or infinite")
    return Volume(data, image.affine.astype(np.float64), header, path)


def load_case(
    case_files: CaseFiles,
    modalities: tuple[str, ...] | list[str] = MODALITIES,
    load_mask: bool = True,
) -> Case:
    """Load some modalities (and the mask) of one case.

    Only the modalities asked for are read, which keeps memory low when a chapter needs two.
    Whatever the release, the images come back by course modality and the mask in course
    labels {0, 1, 2, 4} (:mod:`brats_tutorial.releases`).

    Args:
        case_files: from :func:`brats_tutorial.discovery.find_cases`.
        modalities: which images to load.
        load_mask: also load the mask when the case has one.

    Returns:
        The :class:`Case`; ``mask`` is ``None`` for cases without a label map.

    Raises:
        BratsDataError: if a requested modality has no file, a file is unreadable, or the files
            of the case disagree in shape or affine (the message names the file that differs).
    """
    release = case_files.release
    paths: dict[str, Path] = {}
    for modality in modalities:
        if modality not in case_files.images:
            raise BratsDataError(
                case_files.folder,
                f"case {case_files.case_id} has no {release.describe_sequence(modality)} file",
            )
        paths[modality] = case_files.images[modality]
    volumes = {
        modality: load_volume(path, channel=case_files.channels.get(modality))
        for modality, path in paths.items()
    }
    mask_volume = None
    if load_mask and case_files.mask is not None:
        mask_volume = load_volume(case_files.mask, is_mask=True, release=release)
    all_volumes = list(volumes.values()) + ([mask_volume] if mask_volume else [])
    if not all_volumes:
        raise BratsDataError(case_files.folder, "nothing to load: no modalities asked for")
    reference = all_volumes[0]
    for volume in all_volumes[1:]:
        if volume.data.shape != reference.data.shape:
            raise BratsDataError(
                volume.path,
                f"shape {volume.data.shape} differs from {reference.path.name} {reference.data.shape}",
            )
        if not np.allclose(volume.affine, reference.affine, atol=1e-3):
            raise BratsDataError(volume.path, f"affine differs from {reference.path.name}")
    return Case(
        case_id=case_files.case_id,
        images={m: v.data for m, v in volumes.items()},
        mask=mask_volume.data if mask_volume else None,
        affine=reference.affine,
        header=reference.header,
        spacing=reference.spacing,
        files=case_files,
    )
