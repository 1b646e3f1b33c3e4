#!/usr/bin/env bash
# Installs graphile-worker (Node) from npm into benches/queue_bench/.graphile (git-ignored),
# the queue queue-bench compares against. Needs node >= 18 and npm.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p .graphile
cd .graphile
if [ ! -f package.json ]; then
    echo '{"name": "queue-bench-graphile", "private": true, "type": "module"}' > package.json
fi
npm install --no-audit --no-fund --silent graphile-worker@0.18 pg
node -e "console.log('graphile-worker', require('./node_modules/graphile-worker/package.json').version)"
