"""The GPU count comes from the backend in use, and the global batch and the multi-GPU engine
follow that one count.

The backends' device lists are patched (0, 1 or 2 GPUs): TensorFlow's
``tf.config.list_physical_devices("GPU")``, ``keras.distribution.list_devices("gpu")`` for JAX and
``torch.cuda`` for PyTorch, which all honour ``CUDA_VISIBLE_DEVICES``; ``nvidia-smi``, which does
not, lists other GPUs and must not change the count. Nothing here runs on a GPU. Runs under the
TensorFlow and JAX backends (Makefile target test-jax).
"""

from __future__ import annotations

import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from brats_tutorial import device, training
from brats_tutorial.splits import PatientSplit
from brats_tutorial.training import TrainingConfig, plan_devices

BATCH_SIZE = 16


def fake_nvidia_smi_listing_four_gpus(monkeypatch) -> None:
    """nvidia-smi sees the whole machine, whatever CUDA_VISIBLE_DEVICES hides."""
    monkeypatch.setattr(device.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(
        device.subprocess,
        "run",
        lambda command, **kwargs: subprocess.CompletedProcess(
            command, 0, stdout="Tesla T4, 7.5\n" * 4
        ),
    )


class FakeTorch(types.ModuleType):
    """Stands in for ``torch``: ``torch.cuda`` sees ``count`` GPUs."""

    def __init__(self, count: int) -> None:
        super().__init__("torch")
        self.cuda = types.SimpleNamespace(
            is_available=lambda: count > 0, device_count=lambda: count
        )


def fake_gpus(monkeypatch, backend: str, count: int) -> None:
    """Make ``backend`` the backend in use with ``count`` visible GPUs."""
    monkeypatch.setattr(device.keras.backend, "backend", lambda: backend)
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")  # the GPU machines may have JAX only
        from brats_tutorial import tf_data

        real_list = tf_data.tf.config.list_physical_devices

        def list_physical_devices(device_type=None):
            if device_type == "GPU":
                return [f"PhysicalDevice(GPU:{i})" for i in range(count)]
            return real_list(device_type)  # Keras asks for the CPUs too

        monkeypatch.setattr(tf_data.tf.config, "list_physical_devices", list_physical_devices)
    elif backend == "jax":
        monkeypatch.setattr(
            keras.distribution,
            "list_devices",
            lambda device_type=None: [f"gpu:{i}" for i in range(count)],
        )
    else:
        monkeypatch.setitem(sys.modules, "torch", FakeTorch(count))


EXPECTED_NAMES = {
    "tensorflow": lambda count: [f"/gpu:{i}" for i in range(count)],
    "jax": lambda count: [f"gpu:{i}" for i in range(count)],
    "torch": lambda count: [f"cuda:{i}" for i in range(count)],
}


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
@pytest.mark.parametrize("count", [0, 1, 2])
def test_gpu_count_is_the_backends_not_nvidia_smis(monkeypatch, backend, count):
    fake_nvidia_smi_listing_four_gpus(monkeypatch)
    fake_gpus(monkeypatch, backend, count)
    assert device.gpu_devices() == EXPECTED_NAMES[backend](count)
    assert device.gpu_count() == count
    if backend == "tensorflow":  # gpu_info still names the machine's GPUs, from nvidia-smi
        assert len(device.gpu_info()) == 4


def test_jax_without_a_gpu_platform_counts_none(monkeypatch):
    def no_gpu_platform(device_type=None):
        raise RuntimeError("Unknown backend: 'gpu' requested, but no platforms are found")

    monkeypatch.setattr(device.keras.backend, "backend", lambda: "jax")
    monkeypatch.setattr(keras.distribution, "list_devices", no_gpu_platform)
    assert device.gpu_count() == 0


@pytest.mark.parametrize(
    "backend, count, engine, devices",
    [
        ("tensorflow", 0, "single", 1),
        ("tensorflow", 1, "single", 1),
        ("tensorflow", 2, "mirrored_strategy", 2),
        ("jax", 0, "single", 1),
        ("jax", 1, "single", 1),
        ("jax", 2, "jax_data_parallel", 2),
        ("torch", 2, "single", 1),  # Keras has no data-parallel engine for PyTorch here
    ],
)
def test_global_batch_and_engine_follow_the_count(monkeypatch, backend, count, engine, devices):
    fake_gpus(monkeypatch, backend, count)
    plan = plan_devices(BATCH_SIZE, backend=backend)
    assert plan.gpus == tuple(EXPECTED_NAMES[backend](count))
    assert (plan.engine, plan.devices) == (engine, devices)
    assert plan.global_batch == BATCH_SIZE * devices


@pytest.mark.parametrize("count", [0, 1, 2])
def test_mirrored_strategy_is_built_on_the_counted_gpus(monkeypatch, count):
    pytest.importorskip("tensorflow")
    from brats_tutorial import tf_data

    fake_gpus(monkeypatch, "tensorflow", count)
    built = []

    def fake_mirrored_strategy(devices=None):
        built.append(devices)
        return tf_data.tf.distribute.get_strategy()

    monkeypatch.setattr(tf_data.tf.distribute, "MirroredStrategy", fake_mirrored_strategy)
    plan = plan_devices(BATCH_SIZE, backend="tensorflow")
    for strategy in (
        tf_data.distribution_strategy(list(plan.gpus)),
        tf_data.distribution_strategy(),
    ):
        assert strategy is tf_data.tf.distribute.get_strategy()
    if count > 1:
        assert built == [list(plan.gpus)] * 2
        assert plan.global_batch == BATCH_SIZE * len(built[0])
    else:
        assert built == []
        assert plan.global_batch == BATCH_SIZE


class PipelineReached(Exception):
    """Stops ``train`` once it has built the model and asks for its input pipeline."""


@pytest.mark.parametrize("count", [1, 2])
def test_train_scales_the_batch_and_builds_the_engine_from_one_count(monkeypatch, tmp_path, count):
    """``train`` itself, on the backend in use, up to its input pipeline (nothing is fitted)."""
    backend = keras.config.backend()
    if backend not in ("tensorflow", "jax"):
        pytest.skip(f"no multi-GPU engine under {backend}")
    fake_gpus(monkeypatch, backend, count)
    engines = []
    if backend == "tensorflow":
        from brats_tutorial import tf_data

        def fake_mirrored_strategy(devices=None):
            engines.append(("mirrored_strategy", list(devices)))
            return tf_data.tf.distribute.get_strategy()

        monkeypatch.setattr(tf_data.tf.distribute, "MirroredStrategy", fake_mirrored_strategy)
    else:

        def fake_data_parallel(devices=None):
            engines.append(("jax_data_parallel", list(devices)))
            return "data parallel"

        monkeypatch.setattr(keras.distribution, "DataParallel", fake_data_parallel)
        monkeypatch.setattr(keras.distribution, "set_distribution", lambda distribution: None)

    slices_per_case, size = 4, 32
    images = np.zeros((2 * slices_per_case, size, size, 2), np.float16)
    classes = np.zeros((2 * slices_per_case, size, size), np.uint8)
    monkeypatch.setattr(training, "load_cached_arrays", lambda cache_dir, cases: (images, classes))
    batches = []

    def record_pipeline(kind, images, classes, batch_size, **options):
        batches.append((batch_size, options["batch_multiple"]))
        raise PipelineReached

    monkeypatch.setattr(training, "_make_pipeline", record_pipeline)
    config = TrainingConfig(tmp_path / "run", batch_size=BATCH_SIZE, precision="float32")
    split = PatientSplit(train=["a", "b"], validation=["c"], test=["d"])
    with pytest.raises(PipelineReached):
        training.train(config, tmp_path / "cache", split, verbose=0)

    # JAX's DataParallel needs every batch split evenly; MirroredStrategy splits uneven ones.
    multiple = count if backend == "jax" else 1
    assert batches == [(BATCH_SIZE * count, multiple)]
    if count > 1:
        engine = "mirrored_strategy" if backend == "tensorflow" else "jax_data_parallel"
        assert engines == [(engine, EXPECTED_NAMES[backend](count))]
    else:
        assert engines == []


def test_py_dataset_batches_split_evenly_over_the_devices():
    """39 slices in batches of 16 over 2 devices: the last batch (7) is cut to 6, never odd."""
    from brats_tutorial.py_dataset import SliceDataset

    images = np.arange(39, dtype=np.float32).reshape(39, 1, 1, 1) * np.ones((1, 4, 4, 2))
    classes = np.zeros((39, 4, 4), np.uint8)
    for shuffle in (False, True):
        dataset = SliceDataset(images, classes, batch_size=16, shuffle=shuffle, batch_multiple=2)
        for _epoch in range(2):
            sizes = [len(dataset[index][0]) for index in range(len(dataset))]
            assert sizes == [16, 16, 6]
            seen = np.concatenate([dataset[index][0][:, 0, 0, 0] for index in range(len(dataset))])
            assert len(np.unique(seen)) == 38  # every slice but one, each once
            dataset.on_epoch_end()
    assert [len(batch) for batch, _ in SliceDataset(images, classes, batch_size=16)] == [16, 16, 7]
    with pytest.raises(ValueError, match="batch_multiple"):
        SliceDataset(images, classes, batch_size=16, batch_multiple=3)


#: Run in a fresh process: the virtual devices must exist before the backend starts.
TWO_VIRTUAL_DEVICES_SCRIPT = """
import json, os, sys
if os.environ["KERAS_BACKEND"] == "jax":
    names = ["cpu:0", "cpu:1"]
else:
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    names = ["/cpu:0", "/cpu:1"]
import keras
from pathlib import Path
from brats_tutorial import training
from brats_tutorial.cache import build_cache
from brats_tutorial.discovery import find_cases
from brats_tutorial.preprocessing import PreprocessingSettings
from brats_tutorial.splits import split_patients

training.gpu_devices = lambda: names  # the two virtual CPU devices stand for two GPUs
data_dir, work_dir = Path(sys.argv[1]), Path(sys.argv[2])
settings = PreprocessingSettings(image_size=32, slice_start=42, slice_count=39)
split = split_patients([case.case_id for case in find_cases(data_dir)], seed=0)
info = build_cache(data_dir, work_dir / "cache", settings, progress=False)

class Interrupt(Exception):
    pass

class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise Interrupt

options = dict(model_preset="quick", epochs=2, batch_size=16, seed=1)
if sys.argv[3] == "resume":
    config = training.TrainingConfig(work_dir / "run", precision="mixed_float16", **options)
    try:
        training.train(config, info.cache_dir, split, callbacks=[StopAfterFirstEpoch()], verbose=0)
    except Interrupt:
        pass
config = training.TrainingConfig(work_dir / "run", precision="float32", **options)
result = training.train(config, info.cache_dir, split, verbose=0)
print(json.dumps({
    "devices": result.devices,
    "epochs": result.history["epoch"].tolist(),
    "iterations": int(keras.ops.convert_to_numpy(result.model.optimizer.iterations)),
    "previous_precision": result.previous_precision,
    "finite_loss": bool(result.history["loss"].notna().all()),
}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_data_parallel_training_runs_on_two_virtual_cpu_devices(synthetic_dir, tmp_path, backend):
    """Each backend trains data-parallel on two virtual CPU devices standing for GPUs:
    MirroredStrategy (TensorFlow) or DataParallel (JAX), with an odd number of slices (39 per
    patient). Under JAX the run is interrupted under mixed_float16 and resumed under float32 (the
    single-device resume across precisions runs under TensorFlow in test_resume_precision.py,
    which `make test` does not repeat under JAX: this covers it). Nothing runs on a GPU."""
    import json
    import os

    if keras.config.backend() != "jax":
        # Both backends train in a subprocess of their own; `make test` runs them once, in its
        # JAX pass (test-jax), which has more time to spare than the unit tests beside it.
        pytest.skip("runs in the JAX pass (make test-jax), for both backends")
    resume = backend == "jax"
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "PYTHONPATH": os.pathsep.join(filter(None, [repository, os.environ.get("PYTHONPATH")])),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            TWO_VIRTUAL_DEVICES_SCRIPT,
            str(synthetic_dir),
            str(tmp_path),
            "resume" if resume else "once",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    # 4 training patients x 39 slices = 156 slices, global batch 2 x 16 = 32: 5 steps an epoch.
    assert result == {
        "devices": 2,
        "epochs": [0, 1],
        "iterations": 10,
        "previous_precision": "mixed_float16" if resume else None,
        "finite_loss": True,
    }
