#!/usr/bin/env bash
# Install foedus with its test dependencies into ./.venv (and Debian's
# chromium for the browser tests, when run as root) and run the test suite.
# Extra arguments go to pytest, e.g. bash scripts/test.sh -k compare
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check -e ".[test]"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium not found: the browser tests will be skipped" >&2
  fi
fi
python -m pytest "$@"
