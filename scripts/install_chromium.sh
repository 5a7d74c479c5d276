#!/usr/bin/env bash
# Headless Chromium for the HTML report test (tests/test_report_html.py). Debian's package.
# Does nothing when a Chromium is already on PATH.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null; then echo "chromium: $(command -v "$b")"; exit 0; fi
done
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
if ! command -v apt-get >/dev/null; then
  echo "chromium: not installed and no apt-get here; install Chromium to run the HTML report test" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: $(command -v chromium)"
