#!/usr/bin/env bash
# Live capture under a steady load (benches/live.rs): `rmqdump live -i lo --stats` while a
# paced sender pushes SEND_MESSAGE_V2 frames and their responses over loopback, one write
# per frame; frames decoded and packets dropped (kernel and ours) at each rate, three runs
# each. Needs root. Arguments: rates in frames/s (default 50000 100000 200000 400000);
# RMQDUMP_LIVE_SECONDS sets the length of a run (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
RMQDUMP_LIVE_RATES="${*:-}" cargo bench -q --bench live
