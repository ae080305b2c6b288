#!/usr/bin/env bash
# Set up foedus in ./.venv and run the main job on the shipped defaults:
# validate the eleven seed packages, compare them at the central values,
# explore them over 20,000 futures (stored in foedus-runs.duckdb) and write
# a self-contained HTML report (report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check -e .
foedus validate scenarios/*.yaml
foedus compare scenarios/*.yaml
foedus explore scenarios/*.yaml --futures 20000 --seed 7
if foedus report --help >/dev/null 2>&1; then
  foedus report scenarios/*.yaml -o report.html --futures 2000
  echo "Report written to report.html"
fi
echo "Next: foedus serve   (web app on http://127.0.0.1:8000)"
