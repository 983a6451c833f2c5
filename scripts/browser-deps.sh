#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium and the Playwright Python package
# (the package's driver only; no browser download). Skips quietly when already present.
set -euo pipefail
VENV=${VENV:-.venv}
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian chromium for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped"
  else
    echo "note: chromium not found and not root; browser tests will be skipped"
  fi
fi
if ! "$VENV/bin/python" -c "import playwright" >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q playwright || echo "warning: could not install playwright"
fi
