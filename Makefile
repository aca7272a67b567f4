# Two commands do all the set-up: `make run` serves the dashboard, `make test` runs the suite.
# Each step is stamped, so re-running is quick when nothing changed.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
PORT ?= 8501

.PHONY: run test test-fast lint bench screenshots setup setup-dev browser node clean

run: setup
	$(PY) -m streamlit run dashboard/server.py --server.port $(PORT)

test: setup-dev browser node
	$(PY) -m ruff check .
	$(PY) -m pytest

# Unit tests only: no browser, no real-MNIST training.
test-fast: setup-dev
	$(PY) -m pytest -m "not browser and not slow"

lint: setup-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: setup-dev browser node
	$(PY) -m scripts.bench

screenshots: setup-dev browser
	$(PY) -m scripts.screenshots

setup: $(VENV)/.stamp-runtime
setup-dev: $(VENV)/.stamp-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The project itself goes in editable, so its packages import from any folder without path tricks.
$(VENV)/.stamp-runtime: requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -e .
	touch $@

$(VENV)/.stamp-dev: requirements-dev.txt $(VENV)/.stamp-runtime
	$(PIP) install -r requirements-dev.txt
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -q && apt-get install -y -q chromium) >/dev/null; \
	  else echo "chromium not found and cannot be installed here: browser tests will be skipped"; fi; }

# TensorFlow.js is vendored into exported pages from the pinned npm package.
node: node_modules/.stamp
node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
