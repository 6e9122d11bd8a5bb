#!/usr/bin/env bash
# Installs the real clients the interop suites drive (tests/interop/README.md), idempotently:
#   - one Python venv with snet-cli 3.1.1 + snet-sdk 6.0.0 (they agree on web3 7; pip check passes),
#   - with --legacy (or SNETD_INTEROP_LEGACY=1) also snet-cli 3.0.0 and snet-sdk 5.0.0, one venv each,
#   - the npm snet-sdk 2.0.0, snet-sdk-web 4.2.2 and playwright-core from tests/interop/js/package-lock.json,
#   - Debian's chromium (needs root and apt-get) for snet-sdk-web in a real browser.
# Venvs live under $SNETD_INTEROP_CACHE (default: .cache/interop in the repository, gitignored); a stamp
# file per venv records what was installed, so a second run does nothing. Like tests/kit/setup.sh it
# never stops `npm test`: a failed install is reported and the suite that needs it fails with a pointer.
set -uo pipefail
cd "$(dirname "$0")/../.."

CACHE="${SNETD_INTEROP_CACHE:-$PWD/.cache/interop}"
LEGACY="${SNETD_INTEROP_LEGACY:-0}"
[[ "${1:-}" == "--legacy" ]] && LEGACY=1
PYTHON="${SNETD_INTEROP_PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
mkdir -p "$CACHE"

log() { echo "interop setup: $*"; }
started=$SECONDS

# venv <name> <pip requirement>... : (re)creates $CACHE/<name> unless its stamp lists the same requirements.
venv() {
  local name="$1"; shift
  local dir="$CACHE/$name" want="$*"
  if [[ -x "$dir/bin/python" && -f "$dir/.snetd-stamp" && "$(cat "$dir/.snetd-stamp")" == "$want" ]]; then
    return 0
  fi
  local t=$SECONDS
  rm -rf "$dir"
  if ! "$PYTHON" -m venv "$dir" >"$CACHE/$name.log" 2>&1 || ! "$dir/bin/pip" install -q "$@" >>"$CACHE/$name.log" 2>&1; then
    log "installing '$want' into $dir failed (log: $CACHE/$name.log); the suites using it will fail" >&2
    tail -n 5 "$CACHE/$name.log" >&2
    return 1
  fi
  # snet-cli 3.0.0 crashes in `snet client call` on every service (str.joinpath; fixed in 3.1.1).
  if [[ "$name" == snet-cli-3.0.0 ]]; then
    local f
    f=$("$dir/bin/python" -c 'import snet.cli.utils.utils as u; print(u.__file__)')
    sed -i 's/open(protodir.joinpath(file), "r")/open(os.path.join(protodir, file), "r")/' "$f"
  fi
  echo "$want" >"$dir/.snetd-stamp"
  log "$name ready in $((SECONDS - t)) s"
}

python_clients() {
  local status=0
  venv snet-cli-3.1.1-sdk-6.0.0 snet-cli==3.1.1 snet-sdk==6.0.0 || status=1
  if [[ "$LEGACY" == 1 ]]; then
    # multiaddr 0.0.9: both old clients pin pymultihash, which a newer multiaddr (via py-cid) overwrites.
    venv snet-cli-3.0.0 snet-cli==3.0.0 multiaddr==0.0.9 || status=1
    venv snet-sdk-5.0.0 snet-sdk==5.0.0 multiaddr==0.0.9 || status=1
  fi
  return $status
}

js_clients() {
  local dir=tests/interop/js stamp=tests/interop/js/node_modules/.snetd-stamp
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && return 0
  local t=$SECONDS
  # --ignore-scripts: nothing there needs a build step, and playwright-core must not fetch a browser.
  if ! npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >"$CACHE/npm.log" 2>&1; then
    log "npm ci in $dir failed (log: $CACHE/npm.log); the JavaScript suites will fail" >&2
    tail -n 5 "$CACHE/npm.log" >&2
    return 1
  fi
  echo "$want" >"$stamp"
  log "JavaScript clients ready in $((SECONDS - t)) s"
}

install_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [[ "${EUID}" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "chromium is missing; install the Debian package 'chromium' (needs root); the browser suite will fail" >&2
    return 1
  fi
  local t=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # Another apt run (tests/kit/setup.sh) may hold the lock for a moment: wait rather than fail.
  if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium; } >"$CACHE/apt.log" 2>&1; then
    log "installing chromium failed (log: $CACHE/apt.log); the browser suite will fail" >&2
    tail -n 5 "$CACHE/apt.log" >&2
    return 1
  fi
  log "chromium ready in $((SECONDS - t)) s"
}

# pip (network and unpacking) overlaps with apt and npm: on a clean 2-core machine this roughly halves the wait.
python_clients &
py_pid=$!
install_chromium
js_clients
wait "$py_pid"
log "clients present ($((SECONDS - started)) s): $(ls -d "$CACHE"/snet-* 2>/dev/null | grep -v '\.log$' | xargs -n1 basename | tr '\n' ' ')npm snet-sdk 2.0.0, snet-sdk-web 4.2.2, $(command -v chromium || echo 'no chromium')"
exit 0
