"""train() under the JAX backend (run by `make test-jax` with KERAS_BACKEND=jax).

The GPU machines have JAX but no TensorFlow, so training, its PyDataset pipeline and resuming
must work there too. Under the TensorFlow backend these tests are skipped: test_training.py
runs the same test there.
"""

from __future__ import annotations

import keras
import pytest
from test_training import (  # noqa: F401
    test_every_improvement_trains_and_is_saved_in_the_run,
    test_interrupted_run_resumes_and_ends_like_an_uninterrupted_one,
)

pytestmark = pytest.mark.skipif(
    keras.config.backend() != "jax",
    reason="runs in the JAX pass: KERAS_BACKEND=jax (make test-jax)",
)


def test_training_modules_do_not_import_tensorflow():
    """Only tf_data.py may import TensorFlow; under JAX nothing else pulls it in."""
    import subprocess
    import sys

    code = (
        "import sys, brats_tutorial.training, brats_tutorial.inference, brats_tutorial.course, "
        "brats_tutorial.py_dataset, brats_tutorial.evaluation, brats_tutorial.figures.case_figures, "
        "brats_tutorial.figures.data_figures, brats_tutorial.figures.result_figures; "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "KERAS_BACKEND": "jax"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
