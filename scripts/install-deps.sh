#!/usr/bin/env bash
# Installs what Tenantry needs on a Debian 12 machine, and nothing already there:
# the C++ toolchain and libraries from Debian's packages, and the buf CLI (protobuf
# lint and breaking-change checks) from the npm registry into tools/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(g++ cmake ninja-build ccache pkg-config
          librdkafka-dev librocksdb-dev libprotobuf-dev protobuf-compiler
          libpoco-dev libssl-dev libjemalloc-dev catch2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm may come from Debian or be on the machine already by other means.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$root/tools/node_modules/.bin/buf" ]; then
  echo "install-deps: installing buf into tools/"
  (cd "$root/tools" && npm ci --no-audit --no-fund --loglevel=error)
fi
