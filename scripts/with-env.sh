#!/usr/bin/env bash
# Run a command with the workspace's environment defaults (the Python side sets the rest itself).
set -euo pipefail
if [ -f /opt/lavapipe-bpo/lvp_icd.json ]; then export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/opt/lavapipe-bpo/lvp_icd.json}"; fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$@"
