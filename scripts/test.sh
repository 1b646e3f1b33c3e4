#!/usr/bin/env bash
# The test command: every test of the workspace, on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
cargo test --workspace --all-targets "$@"
# Doctests are not part of --all-targets.
cargo test --workspace --doc "$@"
