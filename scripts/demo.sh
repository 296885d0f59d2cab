#!/usr/bin/env bash
# Sets up the machine, builds tripline and analyzes the sample data in
# examples/ into an embedded store (no server needed).
# Usage: scripts/demo.sh [extra analyze options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p tripline
db="${TRIPLINE_DEMO_DB:-target/demo/tripline.db}"
mkdir -p "$(dirname "$db")"
exec "${CARGO_TARGET_DIR:-target}/release/tripline" analyze --config examples/tripline.toml --db "$db" --force \
  --eve target/demo/eve.json "$@" examples/data/
