"""Build the preprocessed slice cache of a BraTS folder.

Usage::

    python data_scripts/build_cache.py DATA_DIR [--cache-dir DIR] [--slice-start 22]
        [--slice-count 100] [--modalities flair t1ce] [--normalisation zscore|max]
        [--image-size 128]

A thin wrapper around :func:`brats_tutorial.cache.build_cache`; re-running reuses the cases
that are up to date. The cache goes beside the data folder unless ``--cache-dir`` says
otherwise (never inside it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import brats_tutorial  # noqa: F401
except ImportError:  # run from a source checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brats_tutorial.cache import build_cache
from brats_tutorial.constants import DEFAULT_MODALITIES, IMAGE_SIZE, MODALITIES, SLICE_COUNT, SLICE_START
from brats_tutorial.errors import BratsDataError
from brats_tutorial.preprocessing import MASK_INTERPOLATIONS, NORMALISATIONS, PreprocessingSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the preprocessed slice cache of a BraTS folder.")
    parser.add_argument("data_dir", type=Path, help="BraTS folder (any layout the package reads)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: beside the data folder")
    parser.add_argument("--slice-start", type=int, default=SLICE_START, help="first axial slice (default %(default)s)")
    parser.add_argument("--slice-count", type=int, default=SLICE_COUNT, help="number of axial slices (default %(default)s)")
    parser.add_argument("--modalities", nargs="+", choices=MODALITIES, default=list(DEFAULT_MODALITIES), help="channels, in order (default: %(default)s)")
    parser.add_argument("--normalisation", choices=NORMALISATIONS, default="zscore", help="default %(default)s")
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE, help="in-plane size (default %(default)s)")
    parser.add_argument("--mask-interpolation", choices=MASK_INTERPOLATIONS, default="nearest", help="default %(default)s")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        settings = PreprocessingSettings(
            slice_start=args.slice_start,
            slice_count=args.slice_count,
            modalities=tuple(args.modalities),
            normalisation=args.normalisation,
            image_size=args.image_size,
            mask_interpolation=args.mask_interpolation,
        )
        info = build_cache(args.data_dir, args.cache_dir, settings, progress=not args.quiet)
    except (BratsDataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"cache: {info.cache_dir}")
    print(f"  {len(info.case_ids)} cases ready: built {len(info.built)}, up to date {len(info.up_to_date)}")
    for case_id, reason in info.skipped.items():
        print(f"  skipped {case_id}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
