"""DVC entry for the `demos` stage (see dvc.yaml); the work is `vlaser.stages.stage_demos`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("demos")
