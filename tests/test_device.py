"""Tests of brats_tutorial.device with fake GPU lists and a fake nvidia-smi.

Runs under the TensorFlow and JAX backends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types

import keras
import pytest

from brats_tutorial import device
from brats_tutorial.device import (
    GpuInfo,
    apply_precision,
    choose_precision,
    gpu_info,
    parse_nvidia_smi,
)

T4 = GpuInfo("Tesla T4", (7, 5))
V100 = GpuInfo("Tesla V100-SXM2-16GB", (7, 0))
A100 = GpuInfo("NVIDIA A100-SXM4-40GB", (8, 0))
L4 = GpuInfo("NVIDIA L4", (8, 9))
H100 = GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))
P100 = GpuInfo("Tesla P100-PCIE-16GB", (6, 0))


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize(
    "gpus, expected",
    [
        ([], "float32"),
        ([T4], "mixed_float16"),
        ([V100], "mixed_float16"),
        ([A100], "mixed_bfloat16"),
        ([L4], "mixed_bfloat16"),
        ([H100], "mixed_bfloat16"),
        ([P100], "float32"),
        ([GpuInfo("unknown", None)], "float32"),
        ([H100, T4], "mixed_float16"),  # the weakest GPU decides
    ],
)
def test_choose_precision(gpus, expected):
    assert choose_precision(gpus) == expected


def test_choose_precision_without_argument_asks_gpu_info(monkeypatch):
    monkeypatch.setattr(device, "gpu_info", lambda: [L4])
    assert choose_precision() == "mixed_bfloat16"
    monkeypatch.setattr(device, "gpu_info", lambda: [])
    assert choose_precision() == "float32"


def test_parse_nvidia_smi_output():
    output = (
        "Tesla T4, 7.5\nNVIDIA A100-SXM4-40GB, 8.0\n\nNVIDIA GeForce RTX 4090, [N/A]\nTesla K80\n"
    )
    assert parse_nvidia_smi(output) == [
        T4,
        A100,
        GpuInfo("NVIDIA GeForce RTX 4090", None),
        GpuInfo("Tesla K80", None),
    ]


def test_nvidia_smi_missing_gives_no_gpus(monkeypatch):
    monkeypatch.setattr(device.shutil, "which", lambda name: None)
    assert device.gpus_from_nvidia_smi() == []


def test_nvidia_smi_output_is_read(monkeypatch):
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="NVIDIA L4, 8.9\n", stderr="")

    monkeypatch.setattr(device.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(device.subprocess, "run", fake_run)
    assert device.gpus_from_nvidia_smi() == [L4]
    assert calls[0][:2] == ["nvidia-smi", "--query-gpu=name,compute_cap"]


def test_old_nvidia_smi_without_compute_cap_falls_back_to_names(monkeypatch):
    def fake_run(command, **kwargs):
        if "--query-gpu=name,compute_cap" in command:
            raise subprocess.CalledProcessError(2, command, stderr="Field compute_cap is not valid")
        return subprocess.CompletedProcess(command, 0, stdout="Tesla P100-PCIE-16GB\n", stderr="")

    monkeypatch.setattr(device.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(device.subprocess, "run", fake_run)
    assert device.gpus_from_nvidia_smi() == [GpuInfo("Tesla P100-PCIE-16GB", None)]


class FakeJaxDevice:
    def __init__(self, device_kind: str, compute_capability: str | None = None) -> None:
        self.device_kind = device_kind
        if compute_capability is not None:
            self.compute_capability = compute_capability


class FakeJax(types.ModuleType):
    """Stands in for the ``jax`` module: ``devices("gpu")`` returns the given devices."""

    def __init__(self, gpu_devices: list | None) -> None:
        super().__init__("jax")
        self.gpu_devices = gpu_devices

    def devices(self, backend=None):
        if self.gpu_devices is None:
            raise RuntimeError("Unknown backend: 'gpu' requested, but no platforms are found")
        return self.gpu_devices


def fake_nvidia_smi(monkeypatch, output: str) -> None:
    monkeypatch.setattr(device.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(
        device.subprocess,
        "run",
        lambda command, **kwargs: subprocess.CompletedProcess(command, 0, stdout=output),
    )


def test_gpu_info_asks_jax_when_jax_is_the_backend(monkeypatch):
    monkeypatch.setattr(device.keras.backend, "backend", lambda: "jax")
    fake_nvidia_smi(monkeypatch, "Tesla T4, 7.5\n")  # must not be used: JAX knows better
    monkeypatch.setitem(sys.modules, "jax", FakeJax([FakeJaxDevice(H100.name, "9.0")]))
    assert gpu_info() == [H100]
    monkeypatch.setitem(sys.modules, "jax", FakeJax(None))  # CPU-only jaxlib
    assert gpu_info() == []


def test_gpu_info_borrows_capability_from_nvidia_smi_for_old_jax(monkeypatch):
    monkeypatch.setattr(device.keras.backend, "backend", lambda: "jax")
    fake_nvidia_smi(monkeypatch, f"{A100.name}, 8.0\n")
    monkeypatch.setitem(sys.modules, "jax", FakeJax([FakeJaxDevice(A100.name)]))
    assert gpu_info() == [A100]


def test_gpu_info_asks_nvidia_smi_under_tensorflow(monkeypatch):
    monkeypatch.setattr(device.keras.backend, "backend", lambda: "tensorflow")
    fake_nvidia_smi(monkeypatch, "Tesla T4, 7.5\nTesla T4, 7.5\n")
    assert gpu_info() == [T4, T4]
    assert choose_precision() == "mixed_float16"


def test_gpu_info_returns_gpu_records():
    gpus = gpu_info()
    assert isinstance(gpus, list)
    assert all(isinstance(gpu, GpuInfo) for gpu in gpus)


def test_gpu_info_does_not_import_tensorflow_under_jax():
    code = (
        "import sys\n"
        "from brats_tutorial.device import gpu_info, choose_precision\n"
        "choose_precision(gpu_info())\n"
        "print('tensorflow' in sys.modules)\n"
    )
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    python_path = os.pathsep.join(filter(None, [repository, os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": python_path}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    assert completed.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16", "float32"])
def test_apply_precision_sets_the_global_policy(policy, restore_policy):
    assert apply_precision(policy) == policy
    assert keras.mixed_precision.global_policy().name == policy


def test_apply_precision_rejects_unknown_policy():
    with pytest.raises(ValueError):
        apply_precision("float8")


def test_mixed_float16_compile_wraps_optimizer_in_loss_scaling(restore_policy):
    """What the module docstring promises about Keras 3: automatic loss scaling for float16."""
    apply_precision("mixed_float16")
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, dtype="float32")(hidden))
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)

    apply_precision("mixed_bfloat16")
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam", loss="mse")
    assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
