"""DVC entry for the `pretrain` stage (see dvc.yaml); the work is `vlaser.stages.stage_pretrain`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("pretrain")
