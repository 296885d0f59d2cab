#!/usr/bin/env bash
# Sets up the machine and runs every test of the workspace.
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --workspace --all-targets --locked
cargo test --workspace --locked
