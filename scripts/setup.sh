#!/usr/bin/env bash
# Create .venv and install Glasspane's pinned requirements into it; does nothing when they are
# already installed. Usage: scripts/setup.sh runtime|dev
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-runtime}"
files="requirements.txt constraints.txt"
[ "$kind" = dev ] && files="$files requirements-dev.txt"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($python --version)" >&2
  "$python" -m venv .venv
fi
stamp=".venv/.glasspane-$kind.sha256"
wanted="$(cat $files | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  requirements="requirements.txt"
  [ "$kind" = dev ] && requirements="requirements-dev.txt"
  echo "installing $requirements into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements" -c constraints.txt
  echo "$wanted" > "$stamp"
fi
