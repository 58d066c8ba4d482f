# Two commands that work on a fresh machine with only Python 3.10+:
#   make book   builds the HTML book in _build/html, executing every chapter: on real data where
#               BRATS_DATA_DIR names a BraTS folder (then in the "cpu" profile), else on synthetic data
#   make test   runs every test: lint, unit tests, doctests, the JAX pass, every chapter under
#               nbval (its student edition, on synthetic data) and the browser check of the book
# For contributors: make test-quick (the unit tests that neither train nor execute notebooks).
# CI (.ci/run) runs `make -j 3 test WITH_BOOK=1 BOOK_DATA_DIR=<the real sample>`: the book is built
# beside the tests, and the browser check waits for it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Each phase prints its time ("== NAME: N s").
TIMED := bash .ci/timed
# Chapters run in the quick profile on synthetic data unless told otherwise; with a real BraTS
# folder in BRATS_DATA_DIR the book is built in the "cpu" profile (real data, a few minutes).
ifdef BRATS_DATA_DIR
export BRATS_PROFILE ?= cpu
else
export BRATS_PROFILE ?= quick
endif
# 3: TensorFlow 2.21 still prints INFO lines into notebook outputs at level 2.
export TF_CPP_MIN_LOG_LEVEL ?= 3
# The student edition of the chapters (no solutions) that nbval executes.
STUDENT_DIR := _build/student_edition
# Unit tests that train a model or execute notebooks are marked slow (pyproject.toml).
PYTEST_UNIT := $(BIN)/python -m pytest tests --ignore=tests/test_browser.py \
	--ignore=tests/test_colab_versions.py --ignore=tests/test_gpu_script.py

.PHONY: venv book test test-quick lint test-unit test-doctest test-jax test-notebooks test-browser \
	test-colab benchmarks clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

# BOOK_DATA_DIR=DIR (what .ci/run uses) builds the book on that folder in the "cpu" profile without
# passing the folder to the tests that run beside it.
book: $(STAMP)
	$(TIMED) book env $(if $(BOOK_DATA_DIR),BRATS_DATA_DIR="$(BOOK_DATA_DIR)" BRATS_PROFILE=cpu) \
		$(BIN)/jupyter-book build . -W -n --keep-going

# With WITH_BOOK=1 the book is built first (beside the tests under make -j 3).
test: $(if $(WITH_BOOK),book) lint test-unit test-doctest test-jax test-notebooks test-browser \
	test-colab

test-quick: $(STAMP)
	$(TIMED) test-quick $(PYTEST_UNIT) -m "not slow" -q --durations=10

test-unit: $(STAMP)
	$(TIMED) test-unit $(PYTEST_UNIT) --durations=15

# ruff: the code is formatted and lint-free (settings in pyproject.toml, line length 100).
LINTED := brats_tutorial tests benchmarks data_scripts _ext
lint: $(STAMP)
	$(TIMED) lint-format $(BIN)/ruff format --check $(LINTED)
	$(TIMED) lint-check $(BIN)/ruff check $(LINTED)

# The ">>>" examples in the package's docstrings (labels, splits, volume metrics, ...).
test-doctest: $(STAMP)
	$(TIMED) test-doctest $(BIN)/python -m pytest -q --doctest-modules brats_tutorial _ext

# Model, loss, metric and training tests again under the JAX backend. (The resume across
# precisions runs under JAX in test_gpu_count.py's two-device test; test_resume_precision.py, its
# single-device twin in both directions, runs under TensorFlow in test-unit. The GPU script's dry
# run is a JAX script: it runs here only.)
test-jax: $(STAMP)
	$(TIMED) test-jax env KERAS_BACKEND=jax $(BIN)/python -m pytest -q tests/test_model.py \
		tests/test_losses.py tests/test_training_metrics.py tests/test_device.py \
		tests/test_training_jax.py tests/test_original_recipe.py tests/test_region_training.py \
		tests/test_slice_context.py tests/test_augmentation.py tests/test_epoch_log.py \
		tests/test_gpu_count.py tests/test_gpu_script.py

# nbval runs every chapter's student edition (the chapter without its solution cells) on the
# synthetic data, in a work folder of its own: each chapter runs top to bottom in a fresh kernel,
# and the plugin tests/student_stub_check.py checks that the exercise stubs, and only they, fail
# (with NotImplementedError). The solutions run in the book build.
test-notebooks: $(STAMP)
	rm -rf $(STUDENT_DIR)
	$(BIN)/python data_scripts/make_student_edition.py $(STUDENT_DIR) >/dev/null
	$(TIMED) test-notebooks env -u BRATS_DATA_DIR BRATS_PROFILE=quick \
		BRATS_WORK_DIR="$$(mktemp -d)/brats_tutorial_work" PYTHONPATH=tests \
		$(BIN)/python -m pytest -p student_stub_check --nbval-lax --nbval-cell-timeout=600 \
		$(STUDENT_DIR) --durations=10

# Colab's package versions (colab-constraints.txt) in a fresh virtual environment: the chapters'
# install cell must change none of them, and chapter 2's Setup and viewer must run there. Needs
# PyPI: about 770 MB of wheels (TensorFlow 2.20: 590 MB), 2 to 3 min in all on 2 cores.
test-colab: $(STAMP)
	$(TIMED) test-colab $(BIN)/python -m pytest -q tests/test_colab_versions.py --durations=5

# The built book in headless Chromium (skips without _build/html or Chromium, unless
# BRATS_REQUIRE_BOOK=1).
test-browser: $(STAMP) $(if $(WITH_BOOK),book)
	$(TIMED) test-browser $(BIN)/python -m pytest -q tests/test_browser.py

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/bench_input_pipeline.py
	$(BIN)/python benchmarks/bench_volume_metrics.py
	$(BIN)/python benchmarks/bench_model_presets.py
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf _build .pytest_cache
