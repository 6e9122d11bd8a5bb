#!/usr/bin/env bash
# Installs what `npm run bench` needs besides Bun when it is missing: h2load (Debian's nghttp2-client)
# and etcd (etcd-server). The test kit's setup already knows how (and stops the system etcd service
# Debian's package starts); BENCH=1 adds h2load to its list.
set -euo pipefail
BENCH=1 exec bash "$(dirname "$0")/../tests/kit/setup.sh"
