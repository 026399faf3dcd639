#!/bin/sh
# Install what the test suite needs beyond the virtualenv:
# - OPA in-process (opa-golib-python-bindings), so the cross-engine tests run the reference
#   engine; its binding declares Python >= 3.14 and runs on 3.11, hence --ignore-requires-python;
# - Debian's chromium, for the headless-browser check of `modelops report` (tests/test_report_html.py);
# - Debian's prometheus (the server and promtool), for the live-metrics gates and `promtool check
#   rules` (tests/test_rollout.py, tests/test_serving_monitoring.py).
# Idempotent. Without root it only says what to run; those tests then skip with the same hint.
set -eu

PYTHON="${PYTHON:-.venv/bin/python}"
if ! "$PYTHON" -c "import opa_bindings" >/dev/null 2>&1; then
    echo "install-test-deps: installing opa-golib-python-bindings (OPA in-process)" >&2
    "$PYTHON" -m pip install --quiet --ignore-requires-python "opa-golib-python-bindings>=0.4.4"
fi

missing=""
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    missing="$missing chromium"
fi
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    missing="$missing prometheus"
fi
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install-test-deps: missing:$missing; as root run: apt-get update && apt-get install -y$missing" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: missing:$missing and apt-get is not available; install them by hand" >&2
    exit 0
fi
echo "install-test-deps: installing$missing (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq $missing >/dev/null
