"""Synthetic BraTS-like anatomy: the brain, the tumour and the four modalities of one case.

Each case is a skull-stripped, head-shaped brain (a smoothly deformed ellipsoid) with white
matter, a folded cortical ribbon of grey matter, sulcal CSF, the interhemispheric fissure, lateral
ventricles and deep grey nuclei, zero outside the brain. A glioma is drawn into it with BraTS
labels nested as in real high-grade gliomas: necrotic core (label 1) inside an enhancing rim
(label 4) inside oedema (label 2). One case in five is low-grade-like: no enhancing tumour, its
core is non-enhancing tumour (label 1).

The four modalities have their own contrasts (T1: WM > GM > CSF; T2: CSF bright; FLAIR: CSF dark,
oedema bright; T1ce: like T1 with the enhancing rim bright), a smooth multiplicative bias field,
Rician noise and a per-case intensity scale drawn from the range of the real files
(:mod:`brats_tutorial.realism` compares the two).

:func:`generate_case` returns the arrays in memory, on the BraTS grid (240 x 240 x 155 voxels of
1 mm): int16 images and a uint8 mask with labels {0, 1, 2, 4}. Writing them as a data set (folders,
file names, NIfTI headers, the marker file) is :mod:`brats_tutorial.synthetic`'s job.

Speed: smooth random fields are drawn on a coarse grid and upsampled by separable cubic-spline
interpolation (the 1D weights come from :func:`scipy.ndimage.zoom`); tissue and tumour are
computed on brain voxels only. Generating and writing one uncompressed case takes well under a
second (``benchmarks/bench_synthetic.py`` prints the time).

Determinism: the same seed gives byte-identical arrays on the same machine and library versions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .constants import MASK_SUFFIX, MODALITIES, VOLUME_SHAPE

#: One tumour in this many is low-grade-like (20 %): :func:`generate_case` draws low grade with
#: probability ``1 / LOW_GRADE_BLOCK``, and a data set makes exactly one case in each block of this
#: many consecutive cases low grade (:func:`brats_tutorial.synthetic.is_low_grade`).
LOW_GRADE_BLOCK: int = 5

#: Mean intensity of each tissue per modality, in arbitrary units before the per-case scale.
#: csf, gm (cortex), wm, deep_gm (thalamus and basal ganglia), necrosis, enhancing, oedema,
#: non_enhancing (core of low-grade tumours). Chosen from textbook contrasts and checked against
#: the z-scored region medians of the real sample (see tests/test_realism.py).
TISSUE_CONTRAST: dict[str, dict[str, float]] = {
    "t1": {
        "csf": 30,
        "gm": 72,
        "wm": 100,
        "deep_gm": 82,
        "necrosis": 66,
        "enhancing": 85,
        "oedema": 90,
        "non_enhancing": 72,
    },
    "t1ce": {
        "csf": 32,
        "gm": 74,
        "wm": 100,
        "deep_gm": 84,
        "necrosis": 68,
        "enhancing": 122,
        "oedema": 86,
        "non_enhancing": 74,
    },
    "t2": {
        "csf": 215,
        "gm": 125,
        "wm": 80,
        "deep_gm": 100,
        "necrosis": 190,
        "enhancing": 150,
        "oedema": 140,
        "non_enhancing": 175,
    },
    "flair": {
        "csf": 28,
        "gm": 112,
        "wm": 88,
        "deep_gm": 100,
        "necrosis": 145,
        "enhancing": 140,
        "oedema": 150,
        "non_enhancing": 155,
    },
}
#: Range of the median brain intensity per modality, drawn log-uniformly per case: the range of the
#: real BraTS 2018 sample's medians (FLAIR 118-557, T1 240-1581, T1ce 50-1214, T2 116-1161).
BRAIN_MEDIAN_RANGE: dict[str, tuple[float, float]] = {
    "flair": (120.0, 560.0),
    "t1": (240.0, 1580.0),
    "t1ce": (60.0, 1200.0),
    "t2": (120.0, 1160.0),
}
#: Standard deviation of the Gaussian noise in each channel before taking the magnitude, as a
#: fraction of the brain median.
NOISE_FRACTION: float = 0.035
_NOISE_OFFSETS = 1 << 16


# --------------------------------------------------------------------------------------------
# Smooth random fields
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _interpolation_matrix(coarse_size: int, fine_size: int) -> np.ndarray:
    """Cubic-spline upsampling weights: float32 (fine_size, coarse_size).

    ``ndimage.zoom`` is linear in its input, so zooming the identity gives its weights; applying
    the matrix along each axis in turn is the separable, much faster, equivalent of zooming a 3D
    field.
    """
    identity = np.eye(coarse_size, dtype=np.float64)
    matrix = ndimage.zoom(
        identity, (fine_size / coarse_size, 1.0), order=3, mode="reflect", grid_mode=True
    )
    return np.ascontiguousarray(matrix.astype(np.float32))


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, int, int], spacing_mm: float
) -> np.ndarray:
    """Smooth Gaussian random field with unit standard deviation and feature size ``spacing_mm``.

    White noise on a coarse grid (one sample every ``spacing_mm`` voxels), lightly smoothed and
    upsampled with cubic splines.

    Args:
        rng: random generator (advanced by the call).
        shape: output shape (X, Y, Z), in 1 mm voxels.
        spacing_mm: distance between coarse samples; larger is smoother.

    Returns:
        float32 array of ``shape``, mean about 0, standard deviation about 1.
    """
    coarse_shape = tuple(max(2, int(np.ceil(size / spacing_mm)) + 1) for size in shape)
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape), 0.6, mode="wrap")
    coarse = ((coarse - coarse.mean()) / coarse.std()).astype(np.float32)
    field = coarse
    for axis, size in enumerate(shape):
        matrix = _interpolation_matrix(coarse.shape[axis], size)
        # Contract the first axis with the weights; the fine axis comes out last, so after three
        # steps the axes are back in order and the result is contiguous.
        field = np.tensordot(field, matrix, axes=(0, 1))
    return field


_DIRECTION_TABLE_SIZE = 512  # entries per side of the octahedral direction table


def _octahedral_coordinates(
    dx: np.ndarray, dy: np.ndarray, dz: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map directions to the square [-1, 1]^2 (octahedral map: continuous, no trigonometry)."""
    total = np.abs(dx) + np.abs(dy) + np.abs(dz)
    u, v = dx / total, dy / total
    lower = dz < 0  # fold the lower half of the octahedron over the corners
    folded_u = np.copysign(1.0 - np.abs(v), u)
    folded_v = np.copysign(1.0 - np.abs(u), v)
    return np.where(lower, folded_u, u), np.where(lower, folded_v, v)


def _direction_field(
    rng: np.random.Generator, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray, spacing: float
) -> np.ndarray:
    """Smooth random function of direction, read at directions (dx, dy, dz): float32 (N,).

    A smooth 3D field is sampled (trilinearly) on a sphere into a table indexed by octahedral
    coordinates, which is then read at each direction's nearest entry.

    Args:
        rng: random generator.
        dx, dy, dz: float32 (N,) direction vectors (any length but zero).
        spacing: feature size on the unit sphere, in radians.
    """
    sphere_radius = 30.0  # in grid units of the 3D field
    size = int(2 * sphere_radius + 4)
    field = smooth_field(rng, (size, size, size), spacing * sphere_radius)
    # The direction of each table entry: invert the octahedral map at the entry's centre.
    u, v = np.meshgrid(*(np.linspace(-1.0, 1.0, _DIRECTION_TABLE_SIZE),) * 2, indexing="ij")
    w = 1.0 - np.abs(u) - np.abs(v)
    lower = w < 0
    x = np.where(lower, np.copysign(1.0 - np.abs(v), u), u)
    y = np.where(lower, np.copysign(1.0 - np.abs(u), v), v)
    norm = np.sqrt(x * x + y * y + w * w)
    points = (size - 1) / 2 + sphere_radius * np.stack([x / norm, y / norm, w / norm])
    table = ndimage.map_coordinates(field, points, order=1).astype(np.float32)
    u, v = _octahedral_coordinates(dx, dy, dz)
    scale = np.float32((_DIRECTION_TABLE_SIZE - 1) / 2)
    u_index = np.rint((u + 1.0) * scale).astype(np.intp)
    v_index = np.rint((v + 1.0) * scale).astype(np.intp)
    return table[u_index, v_index]


def _ramp(signed_distance: np.ndarray, width: float = 1.0) -> np.ndarray:
    """Partial-volume fraction of a region given a signed distance (negative inside), float32."""
    return np.clip(0.5 - signed_distance / width, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Brain
# --------------------------------------------------------------------------------------------


@dataclass
class _Brain:
    """Brain geometry: a box of the volume, the brain voxels in it and their tissue fractions.

    ``box`` is a tuple of slices of the full volume; ``flat`` the flat indices (within the box) of
    the N brain voxels, ``voxel_index`` their integer (x, y, z) indices in the box, and every
    other array is float32 (N,) over those voxels: coordinates, depth below the brain surface,
    tissue fractions (csf + gm + deep_gm + wm = 1) and a fine texture field.
    """

    box: tuple[slice, slice, slice]
    box_shape: tuple[int, int, int]
    flat: np.ndarray
    voxel_index: tuple[np.ndarray, np.ndarray, np.ndarray]
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    depth_mm: np.ndarray
    csf: np.ndarray
    gm: np.ndarray
    deep_gm: np.ndarray
    wm: np.ndarray
    texture: np.ndarray


def _make_brain(rng: np.random.Generator) -> _Brain:
    """Draw a brain: shape, cortex with sulci, fissure, ventricles and deep grey matter."""
    # float32 throughout: a float64 scalar would silently promote every array it touches.
    centre = (np.array([119.5, 129.0, 67.0]) + rng.uniform(-3.0, 3.0, 3)).astype(np.float32)
    semi_axes = np.array(
        [rng.uniform(56.0, 62.0), rng.uniform(75.0, 81.0), rng.uniform(61.0, 67.0)],
        dtype=np.float32,
    )
    extent = np.ceil(semi_axes * 1.15).astype(int)
    lower = np.maximum(np.floor(centre).astype(int) - extent, 0)
    upper = np.minimum(np.floor(centre).astype(int) + extent + 1, VOLUME_SHAPE)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lower, upper))
    box_shape = tuple(int(b - a) for a, b in zip(lower, upper))

    # Normalised radius of an ellipsoid whose axial sections are rounded rectangles (superellipses
    # of exponent 2.5), narrower at the front (high y is anterior), deformed by a smooth random
    # field; the brain is where it is below 1.
    gx, gy, gz = (
        (np.arange(a, b, dtype=np.float32) - c) / s
        for a, b, c, s in zip(lower, upper, centre, semi_axes)
    )
    width_scale = 1.0 - 0.07 * gy
    axial = np.abs(gx[:, None] / width_scale[None, :]) ** 2.5 + np.abs(gy[None, :]) ** 2.5
    radius_sq = (axial**0.8)[:, :, None] + (gz * gz)[None, None, :]
    deformation = smooth_field(rng, box_shape, spacing_mm=40.0)
    radius = np.sqrt(radius_sq) * (1.0 + 0.035 * deformation)
    ix, iy, iz = np.nonzero(radius < 1.0)
    flat = (ix * box_shape[1] + iy) * box_shape[2] + iz
    radius = radius.ravel()[flat]
    x = ix.astype(np.float32) + np.float32(lower[0])
    y = iy.astype(np.float32) + np.float32(lower[1])
    z = iz.astype(np.float32) + np.float32(lower[2])
    mean_semi_axis = float(np.mean(semi_axes))
    depth_mm = (1.0 - radius) * mean_semi_axis

    # Interhemispheric fissure: distance to the (slightly slanted) midline counts as depth, except
    # in a central core (corpus callosum, diencephalon, brainstem) that joins the hemispheres; the
    # fissure fades into the core over about 20 mm.
    rel_y = (y - centre[1]) / semi_axes[1]
    rel_z = (z - centre[2]) / semi_axes[2]
    core_radius = np.hypot(rel_y / np.float32(0.36), (rel_z + 0.15) / np.float32(0.38))
    midline_distance = np.abs(x - centre[0] - 2.0 * rel_y) + 0.4
    fissure_depth = np.maximum(midline_distance, (1.0 - core_radius) * 20.0)
    outer_depth_mm = depth_mm
    depth_mm = np.minimum(outer_depth_mm, fissure_depth)

    # Sulci: sheets where a smooth random function of the direction from the centre crosses zero,
    # so they run radially like real sulci, down to a random depth; a little isotropic noise bends
    # them. They start at the outer surface only (radial sheets on the medial surface would all
    # meet at the centre). Grey matter lines the surface, the fissure and the sulci, with partial
    # volume over about 1.5 mm.
    sulcus_depth = 17.0 + 5.0 * smooth_field(rng, box_shape, spacing_mm=40.0).ravel()[flat]
    bending = smooth_field(rng, box_shape, spacing_mm=8.0).ravel()[flat]
    near_surface = np.flatnonzero(outer_depth_mm < sulcus_depth + 8.0)
    folding = np.full(flat.size, 10.0, dtype=np.float32)  # far from any sulcus
    folding[near_surface] = _direction_field(
        rng,
        (x[near_surface] - centre[0]) / semi_axes[0],
        (y[near_surface] - centre[1]) / semi_axes[1],
        (z[near_surface] - centre[2]) / semi_axes[2],
        spacing=6.0 / float(np.mean(semi_axes)),
    )
    folding += 0.5 * bending
    sulcus_distance = np.maximum(np.abs(folding) * 4.0 - 0.4, outer_depth_mm - sulcus_depth)
    csf_distance = np.minimum(depth_mm - 0.4, sulcus_distance)
    cortex_thickness = rng.uniform(2.5, 3.5)
    csf = _ramp(csf_distance, 1.5)
    grey_or_csf = _ramp(csf_distance - cortex_thickness, 1.5)

    # Lateral ventricles (two curved ellipsoids beside the midline, closest to it in the middle,
    # diverging and curving down towards the horns) and deep grey nuclei (thalamus, basal
    # ganglia). Both lie near the centre: compute them on the voxels there.
    ventricle_scale = rng.uniform(0.75, 1.3)
    central = np.flatnonzero(
        (np.abs(x - centre[0]) < 30.0)
        & (np.abs(y - centre[1] - 5.0) < 35.0)
        & (np.abs(z - centre[2] - 8.0) < 24.0)
    )
    ventricles = np.zeros(central.size, dtype=np.float32)
    nuclei = np.zeros(central.size, dtype=np.float32)
    dx, dy, dz = x[central] - centre[0], y[central] - centre[1], z[central] - centre[2]
    for side in (-1.0, 1.0):
        vy = (dy - 4.0) / 32.0
        vx = (dx - side * (2.5 + 2.0 * ventricle_scale + 7.0 * vy**2)) / (3.5 * ventricle_scale)
        vz = (dz - 14.0 + 8.0 * vy**2) / (9.0 * ventricle_scale)
        distance = (np.sqrt(vx**2 + vy**2 + vz**2) - 1.0) * 5.0
        ventricles = np.maximum(ventricles, _ramp(distance))
        nx, ny, nz = (dx - side * 17.0) / 8.0, (dy + 2.0) / 15.0, (dz + 2.0) / 10.0
        nuclei = np.maximum(nuclei, _ramp((np.sqrt(nx**2 + ny**2 + nz**2) - 1.0) * 8.0, 2.0))
    csf[central] = np.maximum(csf[central], ventricles)
    grey_or_csf = np.maximum(grey_or_csf, csf)
    gm = grey_or_csf - csf
    rest = 1.0 - grey_or_csf
    deep_gm = np.zeros_like(rest)
    deep_gm[central] = rest[central] * nuclei
    wm = rest - deep_gm
    texture = smooth_field(rng, box_shape, spacing_mm=3.0).ravel()[flat]
    return _Brain(
        box, box_shape, flat, (ix, iy, iz), x, y, z, depth_mm, csf, gm, deep_gm, wm, texture
    )


# --------------------------------------------------------------------------------------------
# Tumour
# --------------------------------------------------------------------------------------------


@dataclass
class _Tumour:
    """Tumour over a subset of the brain voxels.

    ``voxels`` indexes the brain voxels near the tumour; over those voxels: the weights (float32,
    0 to 1) with which oedema, core and necrosis replace the tissue signal, ``labels`` (uint8, file
    labels) and a texture field (float32).
    """

    voxels: np.ndarray
    oedema: np.ndarray
    core: np.ndarray
    necrosis: np.ndarray
    labels: np.ndarray
    texture: np.ndarray
    low_grade: bool


def _make_tumour(rng: np.random.Generator, brain: _Brain, low_grade: bool) -> _Tumour:
    """Draw a glioma inside ``brain``: size, position, irregular nested regions."""
    # Sizes: whole-tumour volumes of about 20 to 250 cm^3 as in the real sample; low-grade
    # tumours are larger and mostly core.
    if low_grade:
        whole_radius = rng.uniform(22.0, 38.0)  # mm, radius of a ball of about the same volume
        core_ratio = rng.uniform(0.65, 0.88)
        necrosis_ratio = 0.0
    else:
        whole_radius = rng.uniform(16.0, 36.0)
        core_ratio = rng.uniform(0.6, 0.85)
        necrosis_ratio = rng.uniform(0.65, 0.9)
    stretch = rng.uniform(0.8, 1.25, 3)
    stretch = (stretch / np.cbrt(np.prod(stretch))).astype(np.float32)
    rotation = np.linalg.qr(rng.standard_normal((3, 3)))[0].astype(np.float32)

    # Centre: a brain voxel (not CSF) deep enough for the core, with the tumour mostly inside
    # axial slices 22..121 (the course's slice window). ``z_reach``: half the axial extent of the
    # stretched and rotated ellipsoid of radius ``whole_radius``.
    z_reach = whole_radius * float(np.linalg.norm(rotation[2] * stretch))
    deep_enough = (brain.depth_mm > 3.0 + core_ratio * whole_radius) & (brain.csf < 0.5)
    candidates = np.flatnonzero(
        deep_enough & (brain.z > 26.0 + 1.1 * z_reach) & (brain.z < 121.0 - 1.1 * z_reach)
    )
    if candidates.size == 0:  # a very large tumour: keep the centre in the window's middle
        candidates = np.flatnonzero(deep_enough & (np.abs(brain.z - 71.5) < 5.0))
    if candidates.size == 0:
        candidates = np.array([int(np.argmax(brain.depth_mm))])
    centre_voxel = candidates[rng.integers(candidates.size)]
    centre = np.array([brain.x[centre_voxel], brain.y[centre_voxel], brain.z[centre_voxel]])

    reach = 1.7 * whole_radius * float(stretch.max())
    inside = (
        (np.abs(brain.x - centre[0]) < reach)
        & (np.abs(brain.y - centre[1]) < reach)
        & (np.abs(brain.z - centre[2]) < reach)
    )
    voxels = np.flatnonzero(inside)
    offsets = tuple(
        coordinate[voxels] - c for coordinate, c in zip((brain.x, brain.y, brain.z), centre)
    )
    radius_sq = np.zeros(voxels.size, dtype=np.float32)
    for axis in range(3):  # rotate, then stretch (written out: a (N, 3) @ (3, 3) matmul is slow)
        component = (
            offsets[0] * rotation[0, axis]
            + offsets[1] * rotation[1, axis]
            + offsets[2] * rotation[2, axis]
        ) / (stretch[axis] * whole_radius)
        radius_sq += component * component
    # Beyond 1.7 whole-tumour radii oedema would need the noise below -2.8 standard deviations.
    near = np.flatnonzero(radius_sq < 1.7**2)
    voxels = voxels[near]
    radius = np.sqrt(radius_sq[near])  # 1 at the mean boundary of the whole tumour

    # Random fields over the tumour's box, read at its voxels.
    lower = np.floor(centre - reach).astype(int)
    box_shape = tuple(int(2 * np.ceil(reach)) + 2 for _ in range(3))
    local_index = np.ravel_multi_index(
        tuple(
            index[voxels] + (box_slice.start - start)
            for index, box_slice, start in zip(brain.voxel_index, brain.box, lower)
        ),
        box_shape,
    )

    def field(spacing: float) -> np.ndarray:
        return smooth_field(rng, box_shape, spacing).ravel()[local_index]

    lumps = field(12.0)
    rim = field(6.0)
    spread = field(9.0)
    core_radius = radius + 0.12 * lumps
    necrosis_radius = core_radius + 0.07 * rim
    oedema_radius = radius + 0.25 * spread + 0.06 * lumps
    scale = whole_radius  # converts normalised radii to mm for partial-volume ramps
    core_distance = (core_radius - core_ratio) * scale  # about mm, negative inside the core
    core = _ramp(core_distance, 1.5)
    # Necrosis stays at least 2 mm inside the core, so an enhancing rim always surrounds it.
    necrosis = np.minimum(
        _ramp((necrosis_radius - core_ratio * necrosis_ratio) * scale, 1.5),
        _ramp(core_distance + 2.0, 1.5),
    )
    if low_grade:
        necrosis = np.zeros_like(core)
    # Oedema spreads through white and grey matter, not into CSF, and always surrounds the core
    # by at least 2 mm.
    oedema = _ramp((oedema_radius - 1.0) * scale, 2.0) * (1.0 - brain.csf[voxels])
    oedema = np.maximum(oedema, _ramp(core_distance - 2.0, 1.5))

    labels = np.zeros(voxels.size, dtype=np.uint8)
    labels[oedema >= 0.5] = 2
    labels[core >= 0.5] = 1 if low_grade else 4
    labels[(necrosis >= 0.5) & (core >= 0.5)] = 1
    # Oedema's signal fades from the core outwards: half strength at its outer edge.
    closeness = (1.0 - oedema_radius) / (1.0 - core_ratio)
    oedema_signal = np.maximum(oedema * np.clip(0.5 + 0.5 * closeness, 0.5, 1.0), core)
    return _Tumour(voxels, oedema_signal, core, necrosis, labels, rim, low_grade)


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


def _bias_field(rng: np.random.Generator, brain: _Brain) -> np.ndarray:
    """Smooth multiplicative bias over the brain voxels, float32 (N,), about 0.8 to 1.2.

    The product of one random smooth profile per axis, exp(a t + b t^2) with t the centred
    coordinate in units of 80 mm: cheap (three table look-ups per voxel) and as smooth as the
    intensity non-uniformity of a real scanner.
    """
    bias = np.ones(brain.flat.size, dtype=np.float32)
    for size, box_slice, index in zip(VOLUME_SHAPE, brain.box, brain.voxel_index):
        t = (np.arange(box_slice.start, box_slice.stop) - size / 2) / 80.0
        linear, quadratic = rng.normal(0.0, 0.08), rng.normal(0.0, 0.06)
        profile = np.exp(linear * t + quadratic * t * t).astype(np.float32)
        bias *= profile[index]
    return bias


def _render(
    rng: np.random.Generator,
    brain: _Brain,
    tumour: _Tumour,
    modality: str,
    noise: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Intensities of one modality at the brain voxels, int16 (N,), all >= 1.

    ``noise`` holds two float32 (N,) standard normal arrays, the noise of the real and imaginary
    channels.
    """
    jitter = {tissue: rng.uniform(0.93, 1.07) for tissue in TISSUE_CONTRAST[modality]}
    mean = {
        tissue: np.float32(value * jitter[tissue])
        for tissue, value in TISSUE_CONTRAST[modality].items()
    }
    values = (
        brain.csf * mean["csf"]
        + brain.gm * mean["gm"]
        + brain.deep_gm * mean["deep_gm"]
        + brain.wm * mean["wm"]
    )
    core_name = "non_enhancing" if tumour.low_grade else "enhancing"
    local = values[tumour.voxels]
    local += tumour.oedema * (mean["oedema"] - local)
    local += tumour.core * (mean[core_name] - local)
    local += tumour.necrosis * (mean["necrosis"] - local)
    local *= 1.0 + 0.15 * tumour.texture * tumour.oedema  # tumour tissue is heterogeneous
    values[tumour.voxels] = local
    # Fine texture (tissue heterogeneity) and a smooth bias field, both multiplicative.
    values *= (1.0 + 0.035 * brain.texture) * _bias_field(rng, brain)

    low, high = BRAIN_MEDIAN_RANGE[modality]
    target_median = np.exp(rng.uniform(np.log(low), np.log(high)))
    values *= np.float32(target_median / np.median(values[::17]))
    # Rician noise: magnitude of a complex signal with Gaussian noise in both channels.
    sigma = np.float32(NOISE_FRACTION * target_median)
    real = values + sigma * noise[0]
    imaginary = sigma * noise[1]
    magnitude = np.sqrt(real * real + imaginary * imaginary)
    return np.clip(np.rint(magnitude), 1, np.iinfo(np.int16).max).astype(np.int16)


def _as_generator(
    seed_or_rng: int | np.random.SeedSequence | np.random.Generator,
) -> np.random.Generator:
    """The generator itself, or a new one from a seed (int >= 0 or SeedSequence)."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if isinstance(seed_or_rng, (int, np.integer)) and seed_or_rng < 0:
        raise ValueError(f"seed must be >= 0, got {seed_or_rng}")
    return np.random.default_rng(seed_or_rng)


def generate_case(
    seed_or_rng: int | np.random.SeedSequence | np.random.Generator,
    low_grade: bool | None = None,
) -> dict[str, np.ndarray]:
    """Generate one synthetic case in memory.

    Args:
        seed_or_rng: a seed (int >= 0 or ``SeedSequence``), or a generator to draw from (advanced
            by the call). The same seed gives byte-identical arrays.
        low_grade: ``True`` for a low-grade-like tumour (no enhancing tumour: labels {0, 1, 2}),
            ``False`` for a high-grade one (labels {0, 1, 2, 4}); ``None`` draws it, low grade with
            probability 0.2.

    Returns:
        ``{"flair", "t1", "t1ce", "t2"}``: int16 (240, 240, 155) images, 0 outside the brain and
        >= 1 inside; ``"seg"``: uint8 (240, 240, 155) mask, file labels {0, 1, 2, 4}.
        Keys are the BraTS file suffixes; axes are (x, y, z) with z axial, as in the files.
    """
    rng = _as_generator(seed_or_rng)
    if low_grade is None:
        low_grade = bool(rng.random() < 1.0 / LOW_GRADE_BLOCK)
    brain = _make_brain(rng)
    tumour = _make_tumour(rng, brain, bool(low_grade))

    # One stream of Gaussian noise, read from a different random offset for each of the eight
    # channels (real and imaginary, four modalities): as good as independent noise for every use
    # here, at an eighth of the cost of drawing it.
    size = brain.flat.size
    stream = rng.standard_normal(size + _NOISE_OFFSETS, dtype=np.float32)
    offsets = rng.choice(_NOISE_OFFSETS, 2 * len(MODALITIES), replace=False)
    case: dict[str, np.ndarray] = {}
    for number, modality in enumerate(MODALITIES):
        first, second = offsets[2 * number : 2 * number + 2]
        noise = (stream[first : first + size], stream[second : second + size])
        box_image = np.zeros(brain.box_shape, dtype=np.int16)
        box_image.ravel()[brain.flat] = _render(rng, brain, tumour, modality, noise)
        image = np.zeros(VOLUME_SHAPE, dtype=np.int16)
        image[brain.box] = box_image
        case[modality] = image
    labels = np.zeros(brain.flat.size, dtype=np.uint8)
    labels[tumour.voxels] = tumour.labels
    box_mask = np.zeros(brain.box_shape, dtype=np.uint8)
    box_mask.ravel()[brain.flat] = labels
    mask = np.zeros(VOLUME_SHAPE, dtype=np.uint8)
    mask[brain.box] = box_mask
    case[MASK_SUFFIX] = mask
    return case
