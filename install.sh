#!/usr/bin/env bash
# Installs snetd, one self-contained binary, into $PREFIX/bin (default /usr/local/bin).
#
#   ./install.sh                  download this machine's release binary, check it against SHA256SUMS, install it
#   ./install.sh --dry-run        only say which binary would come from where and go where
#   ./install.sh --from-source    build dist/snetd from this checkout (needs Node.js 20+ with npm) and install it
#   ./install.sh --from FILE      install a binary you already have
#
#   PREFIX=$HOME/.local ./install.sh                 install somewhere else
#   SNETD_VERSION=v0.1.0 ./install.sh                a given release instead of the latest
#   SNETD_RELEASE_URL=https://host/dir ./install.sh  download from there (a folder holding the binaries and SHA256SUMS)
#
# Exit codes: 2 bad usage, 3 something required is missing (platform, curl or wget, sha256sum or shasum,
# npm), 4 a download failed, 5 the download does not match SHA256SUMS (nothing is installed).
set -euo pipefail

# The GitHub account the releases are published under: replace the placeholder once the repository is public.
SNETD_GITHUB_OWNER="${SNETD_GITHUB_OWNER:-OWNER}"

prefix="${PREFIX:-/usr/local}"
mode=release
from=""
case "${1:-}" in
  "") ;;
  --dry-run) mode=dry-run ;;
  --from-source) mode=source ;;
  --from) mode=file; from="${2:?--from needs a file}" ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac

fail() { # fail <exit code> <message>
  echo "install.sh: $2" >&2
  exit "$1"
}

# This machine's release target, as named in the release (snetd-<target>).
detect_target() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW* | MSYS* | CYGWIN*) os=windows ;;
    *) fail 3 "no release binary for the operating system '$(uname -s)'; expected Linux, Darwin or Windows (try --from-source)" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail 3 "no release binary for the CPU '$(uname -m)'; expected x86_64 or arm64 (try --from-source)" ;;
  esac
  # A shell under Rosetta reports x86_64 on an Apple silicon Mac; the native binary is the better one.
  if [[ "$os" == darwin && "$arch" == x64 && "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" == 1 ]]; then arch=arm64; fi
  if [[ "$os" == windows && "$arch" != x64 ]]; then fail 3 "no release binary for Windows on '$(uname -m)'; expected x86_64"; fi
  echo "$os-$arch"
}

download() { # download <url> <file>
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" || fail 4 "downloading '$1' failed"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || fail 4 "downloading '$1' failed"
  else
    fail 3 "curl or wget is required to download snetd"
  fi
}

sha256_of() { # sha256_of <file>
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  else
    fail 3 "sha256sum or shasum is required to verify the download"
  fi
}

# Installs $1 as $2 through a temporary name: a running snetd keeps its file, and a failed copy leaves no half binary.
install_binary() {
  mkdir -p "$(dirname "$2")"
  install -m 0755 "$1" "$2.new.$$"
  mv -f "$2.new.$$" "$2"
}

finish() { # finish <installed path>
  echo "installed $1: $("$1" version | head -1)"
  echo "next: snetd init-config -o snetd.config.yaml   # then edit it"
  echo "      snetd serve -c snetd.config.yaml"
}

if [[ "$mode" == source ]]; then
  cd "$(dirname "$0")"
  command -v npm >/dev/null || fail 3 "npm is required to build snetd (install Node.js 20+)"
  [[ -d node_modules ]] || npm ci --no-audit --no-fund
  npm run --silent build
  install_binary dist/snetd "$prefix/bin/snetd"
  finish "$prefix/bin/snetd"
  exit 0
fi
if [[ "$mode" == file ]]; then
  [[ -f "$from" ]] || fail 2 "'$from' is not a file; expected a snetd binary"
  install_binary "$from" "$prefix/bin/snetd"
  finish "$prefix/bin/snetd"
  exit 0
fi

target="$(detect_target)"
file="snetd-$target"
dest="$prefix/bin/snetd"
if [[ "$target" == windows-* ]]; then file="$file.exe"; dest="$dest.exe"; fi
if [[ -n "${SNETD_RELEASE_URL:-}" ]]; then
  base="${SNETD_RELEASE_URL%/}"
else
  [[ "$SNETD_GITHUB_OWNER" != OWNER ]] || fail 3 "this install.sh does not name the project's GitHub account yet; set SNETD_RELEASE_URL to a folder holding the release files"
  releases="https://github.com/$SNETD_GITHUB_OWNER/snetd/releases"
  if [[ -n "${SNETD_VERSION:-}" ]]; then base="$releases/download/$SNETD_VERSION"; else base="$releases/latest/download"; fi
fi

if [[ "$mode" == dry-run ]]; then
  echo "would install $base/$file as $dest, checked against $base/SHA256SUMS"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "downloading $base/$file"
download "$base/SHA256SUMS" "$work/SHA256SUMS"
download "$base/$file" "$work/$file"

# sha256sum lines are "<hash>  <name>" (or "<hash> *<name>" in binary mode).
expected="$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1; exit }' "$work/SHA256SUMS")"
[[ -n "$expected" ]] || fail 5 "SHA256SUMS at '$base' has no entry for '$file'; nothing installed"
actual="$(sha256_of "$work/$file")"
if [[ "$actual" != "$expected" ]]; then
  fail 5 "checksum mismatch for '$file': SHA256SUMS says '$expected', the download is '$actual'; nothing installed"
fi
echo "verified $file (sha256 $actual)"

install_binary "$work/$file" "$dest"
finish "$dest"
