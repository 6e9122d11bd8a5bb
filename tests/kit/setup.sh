#!/usr/bin/env bash
# Installs the system tools the test suites need when they are missing: etcd (store suites), openssl
# (TLS suites), h2load (the benchmark smoke test) and chromium (the snet-sdk-web suite), then the real
# clients of the interop suites (tests/interop/setup.sh). Anvil comes from npm. Without root, says what is
# missing and carries on; the suites that need a missing tool then fail with their own message.
set -euo pipefail
cd "$(dirname "$0")/../.."

install_system_tools() {
  missing_cmds=()
  packages=()
  need() { # need <command> <debian package>
    if ! command -v "$1" >/dev/null 2>&1; then
      missing_cmds+=("$1")
      packages+=("$2")
    fi
  }
  need etcd etcd-server
  # TLS suites make throwaway certificates; slim images lack openssl.
  need openssl openssl
  # The benchmark smoke test (part of npm test) drives load with h2load.
  need h2load nghttp2-client
  # snet-sdk-web runs in a real browser (tests/interop/README.md).
  need chromium chromium

  if [[ ${#packages[@]} -eq 0 ]]; then
    echo "setup: test tools present (etcd, openssl, h2load, chromium)"
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
bash tests/interop/setup.sh
