#!/usr/bin/env bash
# DuckDB and pyarrow from PyPI in a venv, for tests/export.rs (the exported Parquet and Arrow
# files read by a real engine). The venv is $RMQDUMP_PYENV (default ~/.cache/rmqdump/pyenv),
# reused when it already has both; tests/export.rs finds it at the same place.
# Prints the venv's python on success.
set -euo pipefail
ENV="${RMQDUMP_PYENV:-$HOME/.cache/rmqdump/pyenv}"
PY="$ENV/bin/python"
if [ -x "$PY" ] && "$PY" -c "import duckdb, pyarrow" >/dev/null 2>&1; then
  exit 0
fi
echo "installing duckdb and pyarrow (PyPI) into $ENV..."
if ! python3 -m venv "$ENV" >/dev/null 2>&1; then
  # Debian's python3 needs python3-venv for ensurepip.
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq python3-venv >/dev/null
  python3 -m venv "$ENV"
fi
"$PY" -m pip install -q --disable-pip-version-check "duckdb>=1.1" "pyarrow>=15"
"$PY" -c "import duckdb, pyarrow; print('duckdb', duckdb.__version__, 'pyarrow', pyarrow.__version__)"
