"""Parameter count and training speed of the U-Net presets on the current backend and device.

For each preset (and a few candidate configurations for the "full" preset) this builds the model,
compiles it with Adam and the Dice + cross-entropy loss, and times ``train_on_batch`` on fixed
random in-memory batches of 128x128x2 slices after a warm-up (which includes compilation). It
prints one table row per model: parameters, seconds per step and training slices per second.

Usage (from the repository root)::

    python benchmarks/bench_model_presets.py          # CPU-friendly: skips 'original' training
    python benchmarks/bench_model_presets.py --all    # also trains 'original' (use a GPU)
    KERAS_BACKEND=jax python benchmarks/bench_model_presets.py --precision auto

Numbers depend on the machine and on what else runs on it: on a shared CPU they are rough.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402

from brats_tutorial.device import apply_precision, choose_precision, gpu_info  # noqa: E402
from brats_tutorial.losses import dice_ce_loss  # noqa: E402
from brats_tutorial.model import PRESETS, UNetConfig, build_model, count_parameters  # noqa: E402

#: Candidates considered for the "full" preset (itself base 32, depth 4, batch norm).
FULL_CANDIDATES: dict[str, UNetConfig] = {
    "candidate_b16_d4": UNetConfig(base_filters=16, depth=4, batch_norm=True),
    "candidate_b24_d4": UNetConfig(base_filters=24, depth=4, batch_norm=True),
    "candidate_b32_d4_transpose": UNetConfig(
        base_filters=32, depth=4, batch_norm=True, upsampling="transpose"
    ),
}


def random_batch(
    batch_size: int, image_size: int, channels: int, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random images ``float32 (B, S, S, C)`` and one-hot masks ``float32 (B, S, S, K)``."""
    generator = np.random.default_rng(seed)
    images = generator.normal(size=(batch_size, image_size, image_size, channels)).astype(
        np.float32
    )
    classes = generator.integers(0, num_classes, size=(batch_size, image_size, image_size))
    masks = np.eye(num_classes, dtype=np.float32)[classes]
    return images, masks


def time_training(
    config: UNetConfig,
    images: np.ndarray,
    masks: np.ndarray,
    warmup_steps: int,
    steps: int,
) -> tuple[int, float]:
    """Build, compile and train; return (parameters, mean seconds per timed step)."""
    model = build_model(config, input_shape=images.shape[1:], num_classes=masks.shape[-1])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=dice_ce_loss())
    for _ in range(warmup_steps):
        model.train_on_batch(images, masks)
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(images, masks)
    float(np.asarray(loss))  # wait for the last step
    seconds_per_step = (time.perf_counter() - start) / steps
    parameters = count_parameters(model)
    del model
    keras.backend.clear_session()
    return parameters, seconds_per_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument(
        "--precision",
        default="float32",
        choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"),
        help="'auto' uses brats_tutorial.device.choose_precision()",
    )
    parser.add_argument("--all", action="store_true", help="also train the 'original' preset")
    parser.add_argument(
        "--only", nargs="*", default=None, help="names of presets or candidates to run"
    )
    arguments = parser.parse_args(argv)

    policy = choose_precision() if arguments.precision == "auto" else arguments.precision
    apply_precision(policy)
    gpus = gpu_info()
    print(f"backend: {keras.backend.backend()}  keras {keras.__version__}  policy: {policy}")
    print(f"gpus: {[f'{gpu.name} {gpu.compute_capability}' for gpu in gpus] or 'none (CPU)'}")
    print(
        f"batch {arguments.batch_size} x {arguments.image_size}x{arguments.image_size}x2, "
        f"{arguments.warmup_steps} warm-up + {arguments.steps} timed steps of train_on_batch"
    )

    images, masks = random_batch(arguments.batch_size, arguments.image_size, 2, 4, seed=0)
    models = {**PRESETS, **FULL_CANDIDATES}
    if arguments.only:
        models = {name: models[name] for name in arguments.only}
    header = f"{'model':<28} {'config':<44} {'parameters':>12} {'s/step':>8} {'slices/s':>9}"
    print(header)
    print("-" * len(header))
    for name, config in models.items():
        description = (
            f"b{config.base_filters} d{config.depth} bn={int(config.batch_norm)} "
            f"drop={config.dropout} {config.upsampling}"
        )
        if name == "original" and not arguments.all:
            probe = build_model(config, input_shape=images.shape[1:], num_classes=4)
            parameters = count_parameters(probe)
            del probe
            keras.backend.clear_session()
            print(f"{name:<28} {description:<44} {parameters:>12,} {'skipped (use --all)':>18}")
            continue
        parameters, seconds = time_training(
            config, images, masks, arguments.warmup_steps, arguments.steps
        )
        slices_per_second = arguments.batch_size / seconds
        print(
            f"{name:<28} {description:<44} {parameters:>12,} {seconds:>8.3f} "
            f"{slices_per_second:>9.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
