"""Start Keras quietly.

TensorFlow 2.21 writes start-up lines from C++ straight to the process's standard error
("All log messages before absl::InitializeLog() ...", oneDNN and CUDA notices, "failed call to
cuInit" on machines without a GPU), before ``TF_CPP_MIN_LOG_LEVEL`` takes effect. In a notebook
they land in the cell output. :func:`start_keras` imports Keras (and with it the backend) and
initialises the devices with file descriptor 2 pointed at ``/dev/null``, then restores it; later
errors and warnings show as usual.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 (C and C++ output included) to /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def start_keras(quiet: bool = True) -> ModuleType:
    """Import Keras and initialise its backend's devices, hiding the backend's start-up lines.

    Call it before anything else imports Keras; afterwards ``import keras`` is free.

    Args:
        quiet: hide the start-up lines (``False`` imports normally, for debugging).

    Returns:
        The ``keras`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    context = silenced_stderr() if quiet else contextlib.nullcontext()
    with context:
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros((1,)))  # device start-up happens here
    return keras
