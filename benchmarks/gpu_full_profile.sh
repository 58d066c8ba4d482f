#!/usr/bin/env bash
# The full profile on a GPU machine with JAX and no TensorFlow (the lent GPU machines): trains the
# full profile for a few epochs under the JAX backend, times every model preset and writes
# brats_tutorial/results/gpu_full_profile.csv (see benchmarks/gpu_full_profile.py). Arguments are
# passed on, e.g. `bash benchmarks/gpu_full_profile.sh --epochs 3 --data-dir /data/brats18_sample`.
#
# Packages: numpy, scipy, pandas, tqdm and JAX are usually there; Keras and nibabel may not be.
# A machine without a network installs them from wheels downloaded beforehand into WHEEL_DIR
# (default .whl; keras, namex, optree, nibabel and what `pip show` says they need), else:
#   pip install --no-deps -e . ; pip install nibabel scipy pandas tqdm keras
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the package from this checkout
WHEEL_DIR="${WHEEL_DIR:-.whl}"
if ! python3 -c "import keras, nibabel" 2>/dev/null && ls "$WHEEL_DIR"/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEEL_DIR"/*.whl
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader || true
python3 -c "import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())"
python3 benchmarks/gpu_full_profile.py "$@"
