#!/usr/bin/env bash
# simpler-env.sh - the second interpreter for the `simpler-google` suite (SimplerEnv's Google Robot tasks).
#
#   bash scripts/simpler-env.sh SIMPLERENV_CHECKOUT [REAL2SIM_CHECKOUT]
#
# SimplerEnv runs ManiSkill2 on SAPIEN 2.2.2, which is the same `sapien` package as ManiSkill 3's SAPIEN 3,
# so it gets its own venv, .venv-simpler (params.yaml: sim.suites.simpler-google.python). Neither
# simpler_env nor mani_skill2_real2sim is on PyPI: give a SimplerEnv checkout (git clone --recurse-submodules
# https://github.com/simpler-env/SimplerEnv) and, if its ManiSkill2_real2sim submodule is empty, a checkout
# of simpler-env/ManiSkill2_real2sim. Its data/ folder (scenes, objects, green-screen photos) is used in place.
#
# On Mesa lavapipe (CPU Vulkan) SAPIEN 2 asks for VK_KHR_external_semaphore_fd, which lavapipe lacks: this
# script also builds the small Vulkan layer in vlaser/sim/vklayer/ (gcc + libvulkan-dev) into
# .venv-simpler/share/vlaser-vklayer/, which vlaser enables for the worker. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIMPLER="${1:?usage: simpler-env.sh SIMPLERENV_CHECKOUT [REAL2SIM_CHECKOUT]}"
REAL2SIM="${2:-$SIMPLER/ManiSkill2_real2sim}"
PY="${PYTHON:-python3.11}"
VENV="$ROOT/.venv-simpler"
say() { printf '\033[1msimpler-env:\033[0m %s\n' "$*"; }
die() { printf 'simpler-env: %s\n' "$*" >&2; exit 2; }

[ -f "$SIMPLER/simpler_env/__init__.py" ] || die "$SIMPLER: no simpler_env/__init__.py (expected a SimplerEnv checkout)"
[ -f "$REAL2SIM/mani_skill2_real2sim/__init__.py" ] || die "$REAL2SIM: no mani_skill2_real2sim package (give a ManiSkill2_real2sim checkout as the second argument)"
[ -d "$REAL2SIM/data/custom" ] || die "$REAL2SIM/data/custom missing: the checkout has no scene data"

[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PY" -m venv "$VENV"; }
if ! "$VENV/bin/python" -c 'import sapien, simpler_env, mani_skill2_real2sim' 2>/dev/null; then
  say "installing sapien==2.2.2 and ManiSkill2_real2sim's requirements (no torch, no tensorflow)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "sapien==2.2.2" "numpy<2" scipy "gymnasium>=0.28.1,<1.0" h5py pyyaml tqdm \
    GitPython tabulate transforms3d opencv-python-headless imageio imageio-ffmpeg trimesh rtree ruckig
  "$VENV/bin/python" -m pip install -q --no-deps -e "$REAL2SIM" -e "$SIMPLER"
fi
"$VENV/bin/python" -c 'import sapien, simpler_env, mani_skill2_real2sim; assert sapien.__version__.startswith("2.2")'

LAYER="$VENV/share/vlaser-vklayer"
SRC="$ROOT/vlaser/sim/vklayer"
if [ ! -f "$LAYER/libVkLayer_vlaser_lavapipe_compat.so" ] || [ "$SRC/lavapipe_compat.c" -nt "$LAYER/libVkLayer_vlaser_lavapipe_compat.so" ]; then
  if [ ! -f /usr/include/vulkan/vk_layer.h ]; then
    say "installing libvulkan-dev (Vulkan headers for the layer)"
    if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan-dev >/dev/null
    else sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan-dev >/dev/null; fi
  fi
  mkdir -p "$LAYER"
  gcc -shared -fPIC -O2 -fvisibility=hidden -o "$LAYER/libVkLayer_vlaser_lavapipe_compat.so" "$SRC/lavapipe_compat.c"
  cp "$SRC/VK_LAYER_VLASER_lavapipe_compat.json" "$LAYER/"
  say "built the lavapipe compatibility layer in $LAYER"
fi
say "ready: $VENV/bin/python (simpler_env, SAPIEN $("$VENV/bin/python" -c 'import sapien; print(sapien.__version__)'))"
