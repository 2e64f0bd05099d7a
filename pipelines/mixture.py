"""DVC entry for the `mixture` stage (see dvc.yaml); the work is `vlaser.stages.stage_mixture`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("mixture")
