# The two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-postgres lint screenshots bench faults jssdk install clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PY=$(PY) ./scripts/demo.sh

test: $(STAMP)
	$(PY) -m pytest

test-postgres: $(STAMP)
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/test $(PY) -m pytest

# Retakes the pictures in docs/screenshots/ from the browser tests (needs chromium, chromium-driver, fonts-noto-cjk).
screenshots: $(STAMP)
	SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest tests/test_browser_staff.py tests/test_browser_sign_in.py \
		tests/test_browser_phone.py tests/test_browser_chat.py

# Syncs and re-syncs 2,000 and 20,000 parents against the simulator (50 ms latency) on SQLite and on
# the PostgreSQL at 127.0.0.1:5432, beside a plain loop, and prints the figures recorded in
# docs/performance.md. Needs Redis at 127.0.0.1:6379 (database 10). Takes about 20 minutes.
bench: $(STAMP)
	$(PY) scripts/bench.py

# Kills a worker, stops WeCom, takes the cache away, against gunicorn, db_workers, PostgreSQL, Redis
# (database 9) and the simulator, and prints the figures recorded in docs/operations.md.
faults: $(STAMP)
	$(PY) scripts/faults.py

# Refreshes the committed copy of the WeCom JS-SDK (@wecom/jssdk, pinned in package.json) that the chat
# toolbar page serves itself; needs npm. See docs/chat-toolbar.md.
jssdk:
	./scripts/update-wecom-jssdk.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
