#!/usr/bin/env bash
# Sets up the machine, builds tripline and analyzes the sample data in
# examples/ into an embedded store (no server needed). The DNS log comes
# first: a DNS answer names the connections that follow it.
# Usage: scripts/demo.sh [extra analyze options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p tripline
db="${TRIPLINE_DEMO_DB:-target/demo/tripline.db}"
mkdir -p "$(dirname "$db")"
exec "${CARGO_TARGET_DIR:-target}/release/tripline" analyze --config examples/tripline.toml --db "$db" --force \
  --eve target/demo/eve.json "$@" \
  examples/data/dnsmasq.log examples/data/home-lan.pcap examples/data/kern.log \
  examples/data/scans-lan.pcap examples/data/auth.log
