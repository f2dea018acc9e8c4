# packshot: `make demo` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# every extra the demo and the tests exercise (the default install stays light: see README)
EXTRAS ?= test,upscale,sam,credentials,motion,diffusion,ray,web,web-test
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
export NUMBA_CACHE_DIR ?= $(CURDIR)/$(VENV)/numba-cache
export OMP_NUM_THREADS ?= 2

.PHONY: demo test bench install clean browser tesseract

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) tesseract
	$(PY) -m packshot.demo --out out

test: $(STAMP) browser tesseract
	$(PY) -m pytest -n 2 -q

# the review app's browser tests drive Debian's Chromium (headless); installed through apt when missing
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	    echo "warning: could not install chromium through apt; the browser tests will fail" >&2; }

# label OCR's second (Latin) reader is Debian's tesseract with its English data; installed through apt when missing
# (without it the understand stage reads with rapidocr alone and says so once)
tesseract:
	@{ command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx eng; } || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null) || \
	    echo "warning: could not install tesseract-ocr through apt; label OCR will use rapidocr alone" >&2; }

bench: $(STAMP) tesseract
	for b in cutout understand render qa export demo memory motion fidelity relight_bound numba_srgb catalogue review serve; do \
	  $(PY) benchmarks/$$b.py || exit 1; done
	# the diffusion figures need a GPU: full-size run where CUDA is present, else the tiny CPU check
	$(PY) -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' && $(PY) benchmarks/diffusion_gpu.py || \
	  $(PY) benchmarks/diffusion_gpu.py --tiny

clean:
	rm -rf $(VENV) out
