#!/usr/bin/env bash
# Start the Glasspane dashboard (http://localhost:8501). Sets up .venv on first run.
# Extra arguments go to `streamlit run`, e.g. scripts/dashboard.sh --server.port 8600
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
exec .venv/bin/python -m streamlit run app.py "$@"
