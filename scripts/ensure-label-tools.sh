#!/usr/bin/env bash
# Shipping labels (app/infra/logistics/labels.py) are set in a CJK font from Debian, and their
# tests turn a page into an image (poppler-utils: pdftoppm) and read its barcode back (zbar-tools:
# zbarimg). Make sure all three are there before the suite runs: install what is missing when we
# can (root with apt-get), otherwise say what is missing and carry on, so that the tests fail or
# skip with their own clear message.
set -u
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

missing=()
[ -f "$FONT" ] || [ -n "${MINISHOP_LABEL_FONT:-}" ] || missing+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-label-tools: installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Try from the package lists already there first; update them only when that fails. Another
  # install running at once (a second worktree's `make test`) holds the dpkg lock: wait for it.
  if apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    exit 0
  fi
  echo "ensure-label-tools: warning: apt-get could not install ${missing[*]}" >&2
else
  echo "ensure-label-tools: warning: ${missing[*]} missing and cannot be installed here (needs" \
    "root and apt-get). Install with \`sudo apt-get install -y ${missing[*]}\` (or set" \
    "MINISHOP_LABEL_FONT to a CJK font); tests/test_labels.py fails or skips until then." >&2
fi
exit 0
