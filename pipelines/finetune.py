"""DVC entry for the `finetune` stage (see dvc.yaml); the work is `vlaser.stages.stage_finetune`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("finetune")
