#!/usr/bin/env bash
# The test command: installs the test dependencies (scripts/deps.sh), then runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo test "$@"
