# Set-up and checks. `make demo` and `make test` install everything they need themselves.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest clean kiosk screenshots boot-test image

$(STAMP): pyproject.toml tools/system-packages.txt tools/ensure-system-packages
	tools/ensure-system-packages tools/system-packages.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/qingka demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite as of one fixed day, then the date sweep: every test marked `dates` once as
# of each moment of tests/dates.py SWEEP, under a system zone far from Beijing's.
pytest: $(STAMP)
	$(BIN)/pytest -n 2 -q
	TZ=Pacific/Kiritimati $(BIN)/pytest -n 2 -q -m dates --sweep

# The kiosk in a window against simulated device, bureau and the real daemon.
kiosk: $(STAMP)
	$(BIN)/python -m kiosk_ui.try_it $(SCENARIO)

# Every kiosk screen, in Chinese and English, at 800x480, 1280x720 and 720x1280.
screenshots: $(STAMP)
	$(BIN)/python -m kiosk_ui.screenshots docs/screenshots

# The box's root file system (Debian, mmdebstrap, cached in .cache/) with the application
# installed by image-build/install.sh, booted under systemd-nspawn; prints its timings.
boot-test: $(STAMP)
	$(BIN)/pytest -q -s -p no:cacheprovider tests/image_build

# The Raspberry Pi OS image (rpi-image-gen, on an arm64 machine): see image-build/README.md.
image: $(STAMP)
	image-build/build-image.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
