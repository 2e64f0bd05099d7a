"""DVC entry for the `indomain` stage (see dvc.yaml); the work is `vlaser.stages.stage_indomain`."""

import sys
from pathlib import Path

# Run the code of the workspace this file is in (the code DVC hashes as the stage's deps), not whatever
# `vlaser` the interpreter would import first (an editable install of another checkout).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vlaser.stage_entry import main  # noqa: E402

if __name__ == "__main__":
    main("indomain")
