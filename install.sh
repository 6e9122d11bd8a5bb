#!/usr/bin/env bash
# Installs snetd as one self-contained binary.
#
#   ./install.sh                 build from this checkout and install to /usr/local/bin (or $PREFIX/bin)
#   ./install.sh --from FILE     install an already built binary (e.g. a dist/snetd copied from elsewhere)
#   PREFIX=$HOME/.local ./install.sh
#
# Building needs only Node.js with npm (Bun comes from the npm registry as a dev dependency).
set -euo pipefail
cd "$(dirname "$0")"

prefix="${PREFIX:-/usr/local}"
from=""
if [[ "${1:-}" == "--from" ]]; then
  from="${2:?--from needs a file}"
elif [[ -n "${1:-}" ]]; then
  sed -n '2,9p' "$0"; exit 2
fi

if [[ -z "$from" ]]; then
  command -v npm >/dev/null || { echo "install.sh: npm is required to build snetd (install Node.js 20+)" >&2; exit 3; }
  [[ -d node_modules ]] || npm ci --no-audit --no-fund
  npm run --silent build
  from="dist/snetd"
fi

mkdir -p "$prefix/bin"
install -m 0755 "$from" "$prefix/bin/snetd"
echo "installed $prefix/bin/snetd: $("$prefix/bin/snetd" version | head -1)"
echo "next: snetd init-config -o snetd.config.yaml, edit it, then snetd serve -c snetd.config.yaml"
