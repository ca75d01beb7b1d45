#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain: tshark (the TCP reassembly oracle),
# tcpdump (the end-to-end suite captures the loopback with it), chromium (headless, it
# renders `rmqdump report` pages in tests/report_browser.rs), and DuckDB with pyarrow in a
# Python venv (tests/export.rs queries the exported Parquet and Arrow files with it), with
# pyspark and chdb beside them (tests/export_engines.rs: docs/scale.md's queries in Spark
# SQL and ClickHouse).
# Idempotent; uses Debian's packages (apt-get, as root or with sudo) and PyPI (pip).
set -euo pipefail
cd "$(dirname "$0")/.."
# Without DuckDB only tests/export.rs skips (it fails under CI, where CI is set).
bash scripts/deps-duckdb.sh || echo "warning: DuckDB not installed: tests/export.rs will skip (fail under CI)" >&2
# Without Spark (pyspark, on Java 17) and chDB only tests/export_engines.rs skips (fails under CI).
bash scripts/deps-spark-chdb.sh || echo "warning: Spark or chDB not installed: tests/export_engines.rs will skip (fail under CI)" >&2
if command -v tshark >/dev/null 2>&1 && command -v tcpdump >/dev/null 2>&1 \
  && command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing tshark, tcpdump and chromium (Debian packages)..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq tshark tcpdump chromium >/dev/null
tshark --version | head -n 1
