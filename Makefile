# Two entry points (see README): `make run` and `make test`. Both build .venv from the
# hashed lock file first, so every machine installs exactly the same packages.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest lock bench clean

install: $(STAMP)

$(STAMP): requirements/lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/lock.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

# The main job on the embedded default (SQLite under ./.gateway, no server): every example
# invoice submitted, rendered (UBL + Factur-X), validated, stored and delivered to a folder.
run: install
	$(BIN)/gateway demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy formats gateway schemas connectors tests bench

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

# Re-pin every dependency (needs network to PyPI); commit requirements/lock.txt after.
lock:
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements/lock.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
