#!/usr/bin/env bash
# One command for a fresh Debian machine: install libtorch + Node deps, build, then upscale an image ×4
# with lightsr's own default weights.   Usage: bash scripts/quickstart.sh [INPUT] [OUTPUT]
set -euo pipefail
cd "$(dirname "$0")/.."
in=${1:-../shared/data/bench/Set5/LR_bicubic/X4/birdx4.png}
out=${2:-bird_x4.png}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if ! dpkg -s libtorch-dev libopenblas0-pthread >/dev/null 2>&1; then
  echo "==> installing libtorch-dev + OpenBLAS (Debian) for the fast torch backend"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libtorch-dev libopenblas0-pthread >/dev/null
fi
echo "==> installing Node dependencies"
npm ci --no-fund --no-audit --loglevel=error
echo "==> building (TypeScript + libtorch addon)"
npm run --silent build
echo "==> lightsr upscale $in -o $out -s 4"
node bin/lightsr.js upscale "$in" -o "$out" -s 4 --overwrite
