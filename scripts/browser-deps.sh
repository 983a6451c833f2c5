#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium, a CJK font (so pages and screenshots
# show Chinese, not boxes) and the Playwright Python package (the package's driver only; no
# browser download). Skips quietly what is already present.
set -euo pipefail
VENV=${VENV:-.venv}

have_cjk_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null | head -n 1)" ]
}

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# fonts-wqy-zenhei is small (≈10 MB); fonts-noto-cjk is prettier but ≈80 MB. Either will do.
have_cjk_font || missing+=(fonts-wqy-zenhei)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || echo "warning: could not install ${missing[*]}; browser tests may be skipped or show boxes for Chinese"
  else
    echo "note: ${missing[*]} not installed and not root (sudo apt-get install ${missing[*]});" \
         "browser tests will be skipped or fail on Chinese text"
  fi
fi
if ! "$VENV/bin/python" -c "import playwright" >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q playwright || echo "warning: could not install playwright"
fi
