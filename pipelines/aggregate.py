"""DVC entry for the `aggregate` stage (see dvc.yaml); the work is `vlaser.stages.stage_aggregate`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("aggregate")
