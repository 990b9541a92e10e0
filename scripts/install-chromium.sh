#!/usr/bin/env bash
# Headless Chromium and chromedriver for the docs site's end-to-end tests
# (crates/mfb-cli/tests/docs_site.rs). Installs the Debian packages `chromium` and
# `chromium-driver` with apt-get when either program is missing; does nothing otherwise.
#
#   scripts/install-chromium.sh
#
# The tests look for /usr/bin/chromium and /usr/bin/chromedriver (override with
# MFB_CHROMIUM and MFB_CHROMEDRIVER) and fail, not skip, when they are missing.
set -euo pipefail

chromium=${MFB_CHROMIUM:-/usr/bin/chromium}
driver=${MFB_CHROMEDRIVER:-/usr/bin/chromedriver}
if [ -x "$chromium" ] && [ -x "$driver" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium.sh: $chromium or $driver is missing and there is no apt-get;" >&2
  echo "  install Chromium and its chromedriver, then set MFB_CHROMIUM and MFB_CHROMEDRIVER" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "install-chromium.sh: installing chromium and chromium-driver with apt-get" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >&2
[ -x "$chromium" ] && [ -x "$driver" ] || {
  echo "install-chromium.sh: apt-get ran but $chromium or $driver is still missing" >&2
  exit 1
}
