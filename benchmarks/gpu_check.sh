#!/usr/bin/env bash
# The GPU check of the modelling issue, for a machine with JAX and no TensorFlow (the lent GPU
# machines): train the quick, full and original presets on synthetic data under the JAX backend
# with the precision the GPU calls for (bfloat16 on Ampere and newer), once on a fixed in-memory
# batch and once through train() and its PyDataset pipeline; print slices/s and peak memory.
# Install first: pip install --no-deps -e . ; pip install nibabel scipy pandas tqdm matplotlib keras
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND=jax
nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader || true
python -c "import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())"
python benchmarks/bench_training.py --preset quick --image-size 128 --batch-size 100 --cases 8 --epochs 4
python benchmarks/bench_training.py --preset full --image-size 128 --batch-size 100 --cases 8 --epochs 4
python benchmarks/bench_training.py --preset original --image-size 128 --batch-size 100 --cases 8 --epochs 4
