# Two commands (see README.md):  make book   — build the site;   make test — run every test.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= book
# training progress bars (tqdm) stay out of the built pages and the test logs; in Jupyter or Colab they show
export TQDM_DISABLE = 1

.PHONY: book test unit notebooks sync site-smoke site-smoke-build benchmark clean paper-weights

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	touch $(STAMP)

## make book: execute the chapters at $(PROFILE) (cached) and write the site to _build/html
book: $(STAMP)
	TOPO_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . --builder html
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

## make test: ruff (format and lint), unit tests + doctests (the engine's tests under JAX too), notebook pairs
## in sync, nbval at smoke, clean -W smoke build, then that site in headless Chromium (tests/browser)
LINTED := topohelpers tests benchmarks scripts book/_ext

test: $(STAMP)
	$(BIN)/ruff format --check --quiet $(LINTED) || { echo "run: $(BIN)/ruff format $(LINTED)"; exit 1; }
	$(BIN)/ruff check --quiet $(LINTED)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests topohelpers --ignore=tests/browser
	if $(BIN)/python -c "import sys; sys.exit(sys.version_info < (3, 11))"; then \
	  KERAS_BACKEND=jax $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_training.py; \
	else echo "Python < 3.11 has no jax 0.10: the engine's tests ran under TensorFlow only"; fi
	rm -rf $(SMOKE) && mkdir -p $(SMOKE)/reportcards
	TOPO_PROFILE=smoke TOPO_REPORTCARDS=$(SMOKE)/reportcards TOPO_CACHE=$${TOPO_CACHE:-$$HOME/.cache/topohelpers} \
	  TOPO_NB_CACHE=$(SMOKE)/_build/.jupyter_cache \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -p tests.nbval_cache --nbval-lax notebooks --nbval-cell-timeout=900
	$(MAKE) --no-print-directory site-smoke-build

## make site-smoke: the site at smoke scale in _build/smoke, then its checks in a browser. Within `make test` the
## build reuses what nbval executed (tests/nbval_cache.py) instead of executing every notebook again.
SMOKE := $(CURDIR)/_build/smoke

site-smoke: $(STAMP)
	rm -rf $(SMOKE) && mkdir -p $(SMOKE)/reportcards
	$(MAKE) --no-print-directory site-smoke-build

site-smoke-build: $(STAMP)
	TOPO_PROFILE=smoke TOPO_REPORTCARDS=$(SMOKE)/reportcards \
	  $(BIN)/jupyter-book build . --builder html --path-output _build/smoke -W --keep-going
	$(BIN)/python scripts/check_site.py _build/smoke/_build/html
	TOPO_SITE=_build/smoke/_build/html $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

## make paper-weights EXPERIMENT=mnist-circles SHARD=3/5: train one shard of a paper-scale experiment and ship it
## into artifacts/paper/ (python -m topohelpers.shipped list says what is missing); SHARD=all trains every
## missing shard, one task each (in turn on a GPU; on the Dask cluster at $$TOPO_DASK_SCHEDULER when set)
EXPERIMENT ?= mnist-circles
paper-weights: $(STAMP)
	@test -n "$(SHARD)" || { echo "set SHARD=k/n or SHARD=all (python -m topohelpers.shipped list says which are missing)"; exit 2; }
	$(BIN)/python -m topohelpers.shipped train $(EXPERIMENT) $(if $(filter all,$(SHARD)),--all,--shard $(SHARD))
	$(BIN)/python -m topohelpers.shipped verify $(EXPERIMENT)

## make sync: regenerate every .ipynb from its .md twin (run after editing a chapter)
sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.md

clean:
	rm -rf _build
