#!/usr/bin/env bash
# Start the Glasspane dashboard (http://127.0.0.1:8501, loopback only). Sets up .venv on first run.
# GLASSPANE_ADDRESS=0.0.0.0 exposes it: configure sign-in first (README, Security).
# Extra arguments go to `streamlit run`, e.g. scripts/dashboard.sh --server.port 8600
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
exec .venv/bin/python -m streamlit run app.py --server.address "${GLASSPANE_ADDRESS:-127.0.0.1}" "$@"
