#!/usr/bin/env bash
# Spark (PyPI `pyspark`, run in local mode on a Java 17 runtime) and ClickHouse (PyPI `chdb`,
# ClickHouse in-process) in the venv of scripts/deps-duckdb.sh, for tests/export_engines.rs:
# docs/scale.md's Spark SQL and ClickHouse queries run on the exported Parquet files.
# Idempotent: nothing is downloaded when the venv already has both and `java` runs.
# The venv is $RMQDUMP_PYENV (default ~/.cache/rmqdump/pyenv), made by scripts/deps-duckdb.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ENV="${RMQDUMP_PYENV:-$HOME/.cache/rmqdump/pyenv}"
PY="$ENV/bin/python"
bash scripts/deps-duckdb.sh
if ! command -v java >/dev/null 2>&1; then
  echo "installing openjdk-17-jre-headless (Debian package) for Spark..."
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if "$PY" -c "import pyspark, chdb" >/dev/null 2>&1; then
  exit 0
fi
echo "installing pyspark and chdb (PyPI) into $ENV..."
"$PY" -m pip install -q --disable-pip-version-check "pyspark>=4.0,<5" "chdb>=3"
"$PY" -c "import pyspark, chdb; print('pyspark', pyspark.__version__, 'chdb', chdb.__version__)"
