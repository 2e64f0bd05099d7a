"""DVC entry for the `ood` stage (see dvc.yaml); the work is `vlaser.stages.stage_ood`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("ood")
