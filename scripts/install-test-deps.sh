#!/bin/sh
# Install what the test suite needs beyond the virtualenv:
# - OPA in-process (opa-golib-python-bindings), so the cross-engine tests run the reference
#   engine; its binding declares Python >= 3.14 and runs on 3.11, hence --ignore-requires-python;
# - Debian's chromium, for the headless-browser check of `modelops report` (tests/test_report_html.py).
# Idempotent. Without root it only says what to run; those tests then skip with the same hint.
set -eu

PYTHON="${PYTHON:-.venv/bin/python}"
if ! "$PYTHON" -c "import opa_bindings" >/dev/null 2>&1; then
    echo "install-test-deps: installing opa-golib-python-bindings (OPA in-process)" >&2
    "$PYTHON" -m pip install --quiet --ignore-requires-python "opa-golib-python-bindings>=0.4.4"
fi

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install-test-deps: chromium is missing; as root run: apt-get update && apt-get install -y chromium" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: chromium is missing and apt-get is not available; install chromium by hand" >&2
    exit 0
fi
echo "install-test-deps: installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
