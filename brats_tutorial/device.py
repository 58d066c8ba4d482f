"""Which GPU is there, and which Keras precision policy suits it.

Mixed precision computes the layers in 16-bit floats and keeps the weights in float32. It pays
off on GPUs with tensor cores:

- compute capability 7.x (Volta V100, Turing T4): float16 tensor cores, no bfloat16, so
  ``"mixed_float16"``;
- compute capability 8.0 and above (Ampere A100, Ada L4, Hopper H100): bfloat16 tensor cores,
  so ``"mixed_bfloat16"``, which has float32's range and needs no loss scaling;
- no GPU, or an older or unknown one: ``"float32"``.

Loss scaling for ``"mixed_float16"`` is automatic in Keras 3: ``Model.compile`` has
``auto_scale_loss=True`` by default, and when the model's dtype policy is ``"mixed_float16"`` it
wraps the optimizer in ``keras.optimizers.LossScaleOptimizer`` (keras/src/trainers/trainer.py,
``Trainer.compile``, checked in Keras 3.15). The model's policy is the global policy at the time
it is built, so call :func:`apply_precision` before building the model.

Two questions, two answers:

- *Which* GPUs (names, compute capabilities, for the precision): :func:`gpu_info`. It works
  without importing TensorFlow: with the JAX (or PyTorch) backend, the backend is asked, since it
  is what will run the model; otherwise ``nvidia-smi`` is asked. With the TensorFlow backend this
  lists the machine's GPUs, including those hidden by ``CUDA_VISIBLE_DEVICES`` and those the
  installed TensorFlow cannot use (``tensorflow-cpu``), so it never decides how many GPUs train.
- *How many* GPUs the model will train on: :func:`gpu_devices` (and :func:`gpu_count`), from the
  device list of the backend in use, which honours ``CUDA_VISIBLE_DEVICES``: TensorFlow's
  ``tf.config.list_physical_devices("GPU")`` (asked in :mod:`brats_tutorial.tf_data`, the only
  module that imports TensorFlow), ``keras.distribution.list_devices("gpu")`` under JAX, and
  ``torch.cuda.device_count()`` under PyTorch. Training scales the global batch and builds its
  distribution (``MirroredStrategy``, ``DataParallel``) from this one list.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import keras

PRECISION_POLICIES: tuple[str, ...] = ("float32", "mixed_float16", "mixed_bfloat16")
NVIDIA_SMI_COMMAND: tuple[str, ...] = (
    "nvidia-smi",
    "--query-gpu=name,compute_cap",
    "--format=csv,noheader",
)


@dataclass(frozen=True)
class GpuInfo:
    """One GPU.

    Attributes:
        name: e.g. ``"Tesla T4"`` or ``"NVIDIA A100-SXM4-40GB"``.
        compute_capability: ``(major, minor)``, e.g. ``(7, 5)``; ``None`` when unknown.
    """

    name: str
    compute_capability: tuple[int, int] | None


def parse_compute_capability(text: object) -> tuple[int, int] | None:
    """``"8.6"`` (or ``(8, 6)``) to ``(8, 6)``; ``None`` for anything unreadable."""
    if isinstance(text, tuple) and len(text) == 2:
        try:
            return int(text[0]), int(text[1])
        except (TypeError, ValueError):
            return None
    parts = str(text).strip().split(".")
    if len(parts) != 2:
        return None
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return None


def parse_nvidia_smi(output: str) -> list[GpuInfo]:
    """Parse ``nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader`` output.

    Args:
        output: one line per GPU, e.g. ``"Tesla T4, 7.5"``; a line without a readable
            capability (``"[N/A]"``, or only a name) gives ``compute_capability=None``.
    """
    gpus = []
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        name, _, capability = line.rpartition(",")
        if not name:  # a line with the name only
            name, capability = capability, ""
        gpus.append(GpuInfo(name.strip(), parse_compute_capability(capability)))
    return gpus


def gpus_from_nvidia_smi(timeout_s: float = 10.0) -> list[GpuInfo]:
    """GPUs listed by ``nvidia-smi``; an empty list when it is missing or fails.

    Drivers older than the ``compute_cap`` query field get a second query for the names only.
    """
    if shutil.which(NVIDIA_SMI_COMMAND[0]) is None:
        return []
    names_only = ("nvidia-smi", "--query-gpu=name", "--format=csv,noheader")
    for command in (NVIDIA_SMI_COMMAND, names_only):
        try:
            completed = subprocess.run(
                list(command), capture_output=True, text=True, timeout=timeout_s, check=True
            )
        except (OSError, subprocess.SubprocessError):
            continue
        return parse_nvidia_smi(completed.stdout)
    return []


def _gpus_from_jax() -> list[GpuInfo]:
    import jax

    try:
        devices = jax.devices("gpu")
    except RuntimeError:  # no GPU backend in this jaxlib, or no GPU
        return []
    return [
        GpuInfo(
            str(getattr(device, "device_kind", "gpu")),
            parse_compute_capability(getattr(device, "compute_capability", None)),
        )
        for device in devices
    ]


def _gpus_from_torch() -> list[GpuInfo]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [
        GpuInfo(torch.cuda.get_device_name(index), tuple(torch.cuda.get_device_capability(index)))
        for index in range(torch.cuda.device_count())
    ]


def gpu_info() -> list[GpuInfo]:
    """The GPUs the active Keras backend can use (see the module docstring for how).

    Returns:
        One :class:`GpuInfo` per GPU; empty when there is none.
    """
    backend = keras.backend.backend()
    backend_queries = {"jax": _gpus_from_jax, "torch": _gpus_from_torch}
    if backend in backend_queries:
        try:
            gpus = backend_queries[backend]()
        except ImportError:
            gpus = None
        if gpus is not None:
            if any(gpu.compute_capability is None for gpu in gpus):
                # Older jaxlib devices lack compute_capability: borrow it from nvidia-smi.
                by_name = {gpu.name: gpu.compute_capability for gpu in gpus_from_nvidia_smi()}
                gpus = [
                    GpuInfo(gpu.name, gpu.compute_capability or by_name.get(gpu.name))
                    for gpu in gpus
                ]
            return gpus
    return gpus_from_nvidia_smi()


def _jax_gpu_devices() -> list[str]:
    try:
        return list(keras.distribution.list_devices("gpu"))
    except RuntimeError:  # no GPU backend in this jaxlib, or no GPU
        return []


def _torch_gpu_devices() -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [f"cuda:{index}" for index in range(torch.cuda.device_count())]


def _tensorflow_gpu_devices() -> list[str]:
    from .tf_data import tensorflow_gpu_devices

    return tensorflow_gpu_devices()


def gpu_devices() -> list[str]:
    """The GPUs the active Keras backend will compute on, as that backend names them.

    Asks the backend's own device list, which honours ``CUDA_VISIBLE_DEVICES`` (see the module
    docstring); :func:`gpu_info` (``nvidia-smi`` under TensorFlow) is not asked.

    Returns:
        e.g. ``["/gpu:0", "/gpu:1"]`` (TensorFlow), ``["gpu:0"]`` (JAX), ``["cuda:0"]``
        (PyTorch); empty when the backend sees no GPU (or is another backend).
    """
    backend_queries = {
        "tensorflow": _tensorflow_gpu_devices,
        "jax": _jax_gpu_devices,
        "torch": _torch_gpu_devices,
    }
    query = backend_queries.get(keras.backend.backend())
    if query is None:
        return []
    try:
        return query()
    except ImportError:
        return []


def gpu_count() -> int:
    """Number of GPUs the active Keras backend will compute on: ``len(gpu_devices())``."""
    return len(gpu_devices())


def choose_precision(gpus: list[GpuInfo] | None = None) -> str:
    """Keras dtype policy for these GPUs (default: :func:`gpu_info`).

    The GPU with the lowest compute capability decides: none -> ``"float32"``; 7.x ->
    ``"mixed_float16"``; 8.0 or above -> ``"mixed_bfloat16"``; older or unknown ->
    ``"float32"``.
    """
    if gpus is None:
        gpus = gpu_info()
    if not gpus:
        return "float32"
    capabilities = [gpu.compute_capability for gpu in gpus]
    if any(capability is None for capability in capabilities):
        return "float32"
    lowest = min(capabilities)
    if lowest >= (8, 0):
        return "mixed_bfloat16"
    if lowest >= (7, 0):
        return "mixed_float16"
    return "float32"


def apply_precision(policy: str) -> str:
    """Set Keras's global dtype policy; call it before building the model.

    Args:
        policy: ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"`` (e.g. from
            :func:`choose_precision`).

    Returns:
        The name of the global policy now in force.
    """
    if policy not in PRECISION_POLICIES:
        raise ValueError(f"policy must be one of {PRECISION_POLICIES}, got {policy!r}")
    # With "mixed_float16", Model.compile(auto_scale_loss=True) then wraps the optimizer in a
    # LossScaleOptimizer: keras/src/trainers/trainer.py, Trainer.compile (Keras 3.15).
    keras.mixed_precision.set_global_policy(policy)
    return keras.mixed_precision.global_policy().name
