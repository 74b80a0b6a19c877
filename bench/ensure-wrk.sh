#!/usr/bin/env bash
# bench/run.py drives Debian's wrk. Install it when we can (root with apt-get); otherwise say
# what is missing and fail, since the benchmark cannot run without a load generator.
set -u
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-wrk: wrk not found; installing it (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -qq wrk >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; then
    exit 0
  fi
  echo "ensure-wrk: error: apt-get could not install wrk" >&2
else
  echo "ensure-wrk: error: wrk not found and cannot install it here (needs root and" \
    "apt-get). Install it with \`sudo apt-get install -y wrk\`." >&2
fi
exit 1
