"""DVC entry for the `indomain` stage (see dvc.yaml); the work is `vlaser.stages.stage_indomain`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("indomain")
