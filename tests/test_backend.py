"""start_keras hides the backend's C++ start-up lines but not later output."""

from __future__ import annotations

import subprocess
import sys


def _stderr_of(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_start_keras_is_quiet_and_restores_stderr():
    stderr = _stderr_of(
        "from brats_tutorial.backend import start_keras\n"
        "keras = start_keras()\n"
        "import sys; print('after start', file=sys.stderr)\n"
        "import os; os.write(2, b'raw fd 2 works\\n')\n"
    )
    assert "absl::InitializeLog" not in stderr and "I0000" not in stderr and "E0000" not in stderr
    assert "after start" in stderr and "raw fd 2 works" in stderr


def test_start_keras_returns_a_working_keras():
    stderr = _stderr_of(
        "from brats_tutorial.backend import start_keras\n"
        "keras = start_keras()\n"
        "assert float(keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.ones((3,))))) == 3.0\n"
    )
    assert "Traceback" not in stderr
