#!/bin/sh
# Install what the test suite needs beyond the virtualenv: Debian's chromium, for the
# headless-browser check of `modelops report` (tests/test_report_html.py).
# Idempotent: does nothing when chromium is already there. Without root it only says
# what to run; the browser test then skips with the same hint.
set -eu

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
