#!/usr/bin/env bash
# The test command: every test of the workspace (unit, integration, UI and doctests; the
# examples are built too), on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
cargo test --workspace "$@"
