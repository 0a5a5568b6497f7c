#!/usr/bin/env bash
# README's test command (and .ci/run's): install what the tests need on Debian, then `npm test`.
#   apt packages: only the missing ones (sudo when not root); Node deps: `npm ci` only when node_modules is
#   missing or older than package-lock.json.   Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
missing=()
for p in libtorch-dev libopenblas0-pthread python3-torch python3-onnx chromium; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (Debian) for the tests"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing Node dependencies (npm ci)"
  export ONNXRUNTIME_NODE_INSTALL=skip # onnxruntime-node's CPU binaries ship in the package: never download CUDA ones
  npm ci --no-fund --no-audit --loglevel=error
fi
exec npm test
