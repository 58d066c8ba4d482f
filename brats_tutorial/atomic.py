"""Atomic file writes: write to a temporary file beside the target, then rename.

An interrupted write never leaves a half-written file under the final name, and an existing
file is replaced only once the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    Args:
        path: the final file name. Its folder is created if missing.
        suffix: suffix of the temporary file (some writers choose the format by suffix);
            defaults to the target's full suffix, e.g. ``.nii.gz``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(path.suffixes) or ".tmp"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    # mkstemp creates the file readable by its owner only; give it the permissions an ordinary
    # new file would get (0666 less the umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary_path, 0o666 & ~umask)
    try:
        yield temporary_path
        os.replace(temporary_path, path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise


def save_npy_atomic(path: str | Path, array: np.ndarray) -> None:
    """Save one array as ``.npy`` atomically."""
    with atomic_path(path, suffix=".npy") as temporary:
        np.save(temporary, array)


def save_json_atomic(path: str | Path, data: Any) -> None:
    """Save JSON-serialisable ``data`` atomically, indented for people to read."""
    with atomic_path(path, suffix=".json") as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_text_atomic(path: str | Path, text: str) -> None:
    """Save text atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
