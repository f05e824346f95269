# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ASSETS := node_modules/.package-lock.json

.PHONY: run test lint lock format migrate seed assets bench-http bench-ocr bench-workflow bench-console bench-payments bench-voucher system-deps clean

LOCK := requirements.lock

# Python packages come from requirements.lock: exact versions with their hashes, so every
# machine installs the same files and a tampered download is refused. The project itself is
# installed editable on top, without resolving anything again.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Upgrading the Python dependencies is this one command: it re-resolves pyproject.toml's ranges
# to the newest releases and rewrites requirements.lock with their hashes (then `make test`).
# Adding a dependency: put it in pyproject.toml, then `make lock` (add KEEP=1 to change nothing
# else).
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 $(if $(KEEP),,--upgrade) -q -o $(LOCK)

# Browser assets (htmx for the console, Swagger UI for /docs) from the npm registry, pinned by
# package-lock.json and served by the application: nothing is loaded from the internet at run
# time. --ignore-scripts: no package runs code at install (swagger-ui-dist's analytics hook).
$(ASSETS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing (apt-get install npm)"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(ASSETS)

assets: $(ASSETS)

# Debian packages the project uses: wrk (benchmarks), Tesseract with Chinese data (OCR),
# CJK fonts (rendering the synthetic OCR evaluation set: Hei, Song/Ming, Kai; Fangsong only
# ships in TeX Live's Fandol fonts, installed without TeX Live's recommends).
# npm (browser assets) and chromium (the console's browser tests launch it by its path).
# Installed when missing and we are root; otherwise say what to install.
system-deps:
	@missing=""; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v tesseract >/dev/null || missing="$$missing tesseract-ocr"; \
	test -f /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata || missing="$$missing tesseract-ocr-chi-sim"; \
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing="$$missing fonts-noto-cjk"; \
	dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing="$$missing fonts-wqy-microhei"; \
	dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || missing="$$missing fonts-wqy-zenhei"; \
	dpkg -s fonts-arphic-uming >/dev/null 2>&1 || missing="$$missing fonts-arphic-uming"; \
	dpkg -s fonts-arphic-ukai >/dev/null 2>&1 || missing="$$missing fonts-arphic-ukai"; \
	dpkg -s fonts-arphic-gbsn00lp >/dev/null 2>&1 || missing="$$missing fonts-arphic-gbsn00lp"; \
	dpkg -s fonts-arphic-gkai00mp >/dev/null 2>&1 || missing="$$missing fonts-arphic-gkai00mp"; \
	dpkg -s fonts-lxgw-wenkai >/dev/null 2>&1 || missing="$$missing fonts-lxgw-wenkai"; \
	norec=""; \
	dpkg -s texlive-lang-chinese >/dev/null 2>&1 || norec="texlive-lang-chinese"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	      || echo "warning: could not install$$missing"; \
	  else echo "please install:$$missing (apt-get install$$missing)"; fi; \
	fi; \
	if [ -n "$$norec" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing: $$norec (without recommends)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$norec) >/dev/null || echo "warning: could not install $$norec"; \
	  else echo "please install: $$norec (apt-get install --no-install-recommends $$norec)"; fi; \
	fi

run: system-deps $(STAMP) $(ASSETS)
	$(VENV)/bin/yibao migrate
	$(VENV)/bin/yibao seed-demo
	$(VENV)/bin/yibao serve

test: system-deps $(STAMP) $(ASSETS)
	$(PY) -m pytest

# Style, types (mypy, configured in pyproject.toml) and the layers contract (.importlinter).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench-http: $(STAMP) system-deps
	$(PY) -m bench.me_http

bench-payments: $(STAMP)
	$(PY) -m bench.payments

# E-voucher verifications/s and p99 through the full HTTP path, beside bare Sanic.
bench-voucher: $(STAMP) system-deps
	$(PY) -m bench.voucher

clean:
	rm -rf $(VENV) var .pytest_cache node_modules

bench-workflow: $(STAMP)
	$(PY) -m bench.workflow

# The reviewer queue page of the staff console with 1,000,000 cases, beside the JSON API.
bench-console: $(STAMP) $(ASSETS)
	$(PY) -m bench.console

# Invoice OCR on the synthetic evaluation set (both engines + plain-Tesseract baseline).
bench-ocr: $(STAMP) system-deps
	$(PY) -m bench.ocr_eval --count 48 --json var/bench/ocr.json
