# Two commands that work on a fresh machine with only Python 3.10+:
#   make book   builds the HTML book in _build/html, executing every chapter: on real data where
#               BRATS_DATA_DIR names a BraTS folder (then in the "cpu" profile), else on synthetic data
#   make test   runs every test: unit tests (TensorFlow, then JAX backend) and every notebook under
#               nbval (always on the synthetic data, quick profile)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Chapters run in the quick profile on synthetic data unless told otherwise; with a real BraTS
# folder in BRATS_DATA_DIR the book is built in the "cpu" profile (real data, a few minutes).
ifdef BRATS_DATA_DIR
export BRATS_PROFILE ?= cpu
else
export BRATS_PROFILE ?= quick
endif
# 3: TensorFlow 2.21 still prints INFO lines into notebook outputs at level 2.
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: venv book test lint test-unit test-doctest test-jax test-notebooks benchmarks clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: lint test-unit test-doctest test-jax test-notebooks

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests --durations=15

# ruff: the code is formatted and lint-free (settings in pyproject.toml, line length 100).
LINTED := brats_tutorial tests benchmarks data_scripts _ext
lint: $(STAMP)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/ruff check $(LINTED)

# The ">>>" examples in the package's docstrings (labels, splits, volume metrics, ...).
test-doctest: $(STAMP)
	$(BIN)/python -m pytest -q --doctest-modules brats_tutorial _ext

# Model, loss, metric and device tests again under the JAX backend.
test-jax: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python -m pytest tests/test_model.py tests/test_losses.py \
		tests/test_training_metrics.py tests/test_device.py tests/test_training_jax.py \
		tests/test_original_recipe.py tests/test_region_training.py \
		tests/test_slice_context.py tests/test_augmentation.py

# nbval always runs every chapter on the synthetic default, whatever the book was built on.
test-notebooks: $(STAMP)
	env -u BRATS_DATA_DIR BRATS_PROFILE=quick $(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=600 book --durations=10

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/bench_input_pipeline.py
	$(BIN)/python benchmarks/bench_volume_metrics.py
	$(BIN)/python benchmarks/bench_model_presets.py
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf _build .pytest_cache
