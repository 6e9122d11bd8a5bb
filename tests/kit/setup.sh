#!/usr/bin/env bash
# Installs the system tools the test suites need when they are missing: etcd (store suites), openssl
# (TLS suites), h2load (the benchmark smoke test), qemu-user with an arm64 glibc (the release suite runs
# the linux-arm64 binary), wget (install.sh is tested with curl and with wget) and chromium (the dashboard
# and snet-sdk-web suites) from Debian; Pebble and its DNS test server (ACME suite) from the Go module
# proxy; aiosmtpd (alert suite) from PyPI into a venv; then the real clients of the interop suites
# (tests/interop/setup.sh). Anvil comes from npm. Without root or a toolchain, says what is missing and
# carries on; the suites that need a missing tool then fail with their own message.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Built or downloaded tools are cached here (tests/kit/tools.ts reads the same default).
TOOLS="${SNETD_TEST_TOOLS:-$HOME/.cache/snetd-test-tools}"
PEBBLE_VERSION=v2.10.3
AIOSMTPD_VERSION=1.4.6

# Pebble (Let's Encrypt's test ACME server) and pebble-challtestsrv (its DNS answers every name with
# 127.0.0.1, so Pebble's HTTP-01 validation reaches the responder under test), built from the Go proxy.
go_tools() {
  local missing=()
  for tool in pebble pebble-challtestsrv; do
    [[ -x "$TOOLS/bin/$tool" ]] || missing+=("github.com/letsencrypt/pebble/v2/cmd/$tool@$PEBBLE_VERSION")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  # Go's tarball install puts it in /usr/local/go/bin, which a non-login shell may not have on PATH.
  local go_bin
  go_bin=$(command -v go || { [[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go; } || true)
  if [[ -z "$go_bin" ]]; then
    echo "setup: 'go' not found; the ACME suite needs Pebble: install Go, then rerun tests/kit/setup.sh" >&2
    return 0
  fi
  echo "setup: building ${missing[*]}"
  for m in "${missing[@]}"; do
    GOBIN="$TOOLS/bin" "$go_bin" install "$m" || echo "setup: 'go install $m' failed; the ACME suite will say so" >&2
  done
}

# A real SMTP server for the alert suite (tests/kit/smtp_sink.py).
smtp_venv() {
  local venv="$TOOLS/smtp-venv"
  [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import aiosmtpd" 2>/dev/null && return 0
  if ! command -v python3 >/dev/null 2>&1; then
    echo "setup: 'python3' not found; the alert suite needs it for its SMTP server" >&2
    return 0
  fi
  echo "setup: installing aiosmtpd $AIOSMTPD_VERSION into $venv"
  { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"; } ||
    echo "setup: installing aiosmtpd failed; the alert suite will say so" >&2
}

install_system_tools() {
  missing_cmds=()
  packages=()
  need() { # need <command> <debian package>
    if ! command -v "$1" >/dev/null 2>&1; then
      missing_cmds+=("$1")
      packages+=("$2")
    fi
  }
  need_file() { # need_file <path> <debian package>
    if [[ ! -e "$1" ]]; then
      missing_cmds+=("$1")
      packages+=("$2")
    fi
  }
  need etcd etcd-server
  # TLS suites make throwaway certificates; slim images lack openssl.
  need openssl openssl
  # The benchmark smoke test (part of npm test) drives load with h2load.
  need h2load nghttp2-client
  # The release suite runs snetd-linux-arm64 under qemu-user; the binary needs arm64 glibc's loader and
  # libraries, which Debian's cross package puts in /usr/aarch64-linux-gnu (qemu-aarch64 -L).
  need qemu-aarch64 qemu-user
  need_file /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 libc6-arm64-cross
  need wget wget
  # The Connect suite calls the daemon with the real curl (and install.sh is tested with it).
  need curl curl
  # The dashboard suite drives a real headless browser.
  need chromium chromium


  if [[ ${#packages[@]} -eq 0 ]]; then
    echo "setup: test tools present (etcd, openssl, h2load, qemu-aarch64 with arm64 glibc, wget, chromium)"
    return 0
  fi

  if [[ "${EUID}" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${missing_cmds[*]}; install the Debian packages '${packages[*]}' (needs root and apt-get); continuing without them" >&2
    return 0
  fi

  echo "setup: installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}"; }; then
    echo "setup: installing '${packages[*]}' failed; continuing without ${missing_cmds[*]}" >&2
    return 0
  fi

  # Debian's etcd-server enables and starts a system etcd on 2379. The suites start their own etcd on
  # free ports, so a system one is only a stray process holding a well-known port: stop and disable it.
  if [[ " ${packages[*]} " == *" etcd-server "* ]]; then
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now etcd >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/etcd ]]; then
      /etc/init.d/etcd stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then update-rc.d etcd disable >/dev/null 2>&1 || true; fi
    # Bash's /dev/tcp connects only if something listens.
    if (exec 3<>/dev/tcp/127.0.0.1/2379) 2>/dev/null; then
      echo "setup: warning: something still listens on 127.0.0.1:2379 after stopping the etcd service" >&2
    fi
  fi
}

install_system_tools
mkdir -p "$TOOLS"
go_tools
smtp_venv
bash tests/interop/setup.sh
