#!/usr/bin/env bash
# The system packages the test suite needs beyond Python: Debian's Chromium for the
# browser tests (Playwright drives it; it never downloads a browser of its own).
# Called by `nox -s tests`, which both the README's test command and .ci/run run,
# so a fresh machine gets exactly what CI gets. Installs only what is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: missing ${missing[*]}; install them with your package manager" >&2
  echo "system-packages: (browser tests skip outside CI and fail under CI=true without them)" >&2
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "system-packages: missing ${missing[*]} and not root: apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi

echo "system-packages: installing ${missing[*]} (Debian packages)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2 || echo "system-packages: apt-get update failed; trying the cached lists" >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
