#!/usr/bin/env bash
# setup.sh - idempotent setup of a Vlaser workspace on Debian 12 with nothing but Python 3.11.
#
#   1. .venv with torch==2.13.0 installed FIRST and alone (the local CPU wheel; nothing may pull CUDA torch),
#   2. the project (editable, with dev extras) under constraints.txt (exact pins known to install together),
#   3. system packages, each only if missing: Mesa lavapipe from bookworm-backports (ManiSkill3 CPU
#      rendering), chromium (browser tests), postgresql (server tests).
# A second run only checks stamps and files: it finishes in seconds and changes nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV="$ROOT/.venv"
STAMP="$VENV/.vlaser-installed"
say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# --- 1+2. Python environment -------------------------------------------------------------------
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/vlaser" ]; then
  say ".venv up to date"
else
  [ -x "$VENV/bin/python" ] || { say "creating .venv with $PY"; "$PY" -m venv "$VENV"; }
  "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
  if ! "$VENV/bin/python" -c 'import torch,sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else 1)' 2>/dev/null; then
    say "installing torch==2.13.0 (CPU wheel) first"
    "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  fi
  say "installing vlaser + dependencies under constraints.txt (a few minutes the first time)"
  # DS_BUILD_OPS=0: deepspeed is an sdist; build no CUDA ops (its CPU comm op is JIT-built on first use).
  DS_BUILD_OPS=0 "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"
  "$VENV/bin/python" -m pip check
  "$VENV/bin/python" -c 'import torch,sys; v=torch.__version__; sys.exit(0 if v.startswith("2.13.0") and "+cpu" in v else "torch changed to "+v)'
  echo "$want" > "$STAMP"
fi

# --- 3. System packages (root only; each only if missing) --------------------------------------
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  say "skipping '$*': needs root"; return 0; fi; }
apt_updated=0
apt_install() {  # apt_install CMD-or-FILE PKG...
  local probe="$1"; shift
  if command -v "$probe" >/dev/null 2>&1 || [ -e "$probe" ]; then return 0; fi
  [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  say "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# CPU Vulkan for SAPIEN 3: Debian 12's own lavapipe (Mesa 22.3) is rejected; use Mesa 25 from backports.
as_root bash "$ROOT/scripts/cpu-vulkan.sh" | tail -n 1 >/dev/null
apt_install /usr/bin/chromium chromium
apt_install /usr/lib/postgresql/15/bin/initdb postgresql
apt_install /usr/bin/ffmpeg ffmpeg
say "ready (.venv, lavapipe, chromium, postgresql)"
