# packshot: `make demo` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export NUMBA_CACHE_DIR ?= $(CURDIR)/$(VENV)/numba-cache
export OMP_NUM_THREADS ?= 2

.PHONY: demo test bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[test,upscale,sam]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m packshot.demo --out out

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

bench: $(STAMP)
	for b in cutout understand render qa export demo; do $(PY) benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) out
