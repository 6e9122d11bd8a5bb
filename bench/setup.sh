#!/usr/bin/env bash
# Installs what `npm run bench` needs besides Bun: h2load (Debian's nghttp2-client) and etcd
# (etcd-server), each only when missing. Debian/Ubuntu only; elsewhere install them by hand.
set -euo pipefail

missing=()
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
if [ -z "${ETCD_BIN:-}" ] && ! command -v etcd >/dev/null 2>&1; then missing+=(etcd-server); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench/setup.sh: h2load and etcd are installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench/setup.sh: apt-get not found; install ${missing[*]} (h2load, etcd) with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "bench/setup.sh: not root and no sudo; run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "bench/setup.sh: installing ${missing[*]}"
# A fresh machine may have no package lists yet; update only when the install cannot find them.
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
