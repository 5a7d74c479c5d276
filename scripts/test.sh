#!/usr/bin/env bash
# Install what the tests need (on a fresh machine too) and run the whole test suite.
# Extra arguments go to pytest, e.g. bash scripts/test.sh -m slow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Headless Chromium opens the HTML report in tests/test_report_html.py
bash scripts/install_chromium.sh
# The Rust modules' own tests (release profile: reuses the dependencies setup just built)
cargo test --quiet --release --locked --workspace --manifest-path rust_harness/Cargo.toml
# numba caches compiled functions next to the sources; keep that out of the way of a read-only tree
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.venv/numba-cache}"
exec .venv/bin/python -m pytest -n 2 --dist loadfile -q "$@"
