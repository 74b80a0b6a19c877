#!/usr/bin/env bash
# The browser test (tests/test_browser_login.py) drives Debian's Chromium. Make sure it is
# there before the suite runs: install it when we can (root with apt-get), otherwise say what
# is missing and carry on, so that the test fails with its own clear message.
set -u
CHROMIUM="${MINISHOP_TEST_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] || command -v "$CHROMIUM" >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM not found; installing chromium and chromium-driver (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium chromium-driver >/dev/null; then
    exit 0
  fi
  echo "ensure-chromium: warning: apt-get could not install chromium" >&2
else
  echo "ensure-chromium: warning: $CHROMIUM not found and cannot install it here (needs root" \
    "and apt-get). Install it with \`sudo apt-get install -y chromium chromium-driver\`, or" \
    "set MINISHOP_TEST_CHROMIUM; tests/test_browser_login.py fails until then." >&2
fi
exit 0
