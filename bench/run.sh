#!/usr/bin/env bash
# Runs the hello benchmark (bench/http.mjs). Builds nothing: run `npm run build` first
# (or `npm run bench`, which builds and then calls this script).
# Usage: bash bench/run.sh [--rounds N] [--duration S] [--connections C] [...]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk not found: installing it with apt-get" >&2
  if ! apt-get install -y wrk >&2; then
    apt-get update >&2
    apt-get install -y wrk >&2
  fi
fi

if [[ ! -f examples/dist/hello.js ]]; then
  echo "examples/dist/hello.js is missing: run \`npm run build\` (or \`npm run bench\`) first." >&2
  exit 1
fi

exec node bench/http.mjs "$@"
