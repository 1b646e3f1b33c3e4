#!/usr/bin/env bash
# The test command: every test of the workspace (unit, integration, UI and doctests; the
# examples are built too), on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
cargo test --workspace "$@"
# The crash suite's short form: workers SIGKILLed during imports and exports against the
# faulty simulator, then the checks; anything lost, duplicated or stuck fails the command.
cargo run --quiet --example crash_suite -- --short
