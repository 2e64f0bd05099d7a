"""DVC entry for the `eval_reasoning` stage (see dvc.yaml); the work is `vlaser.stages.stage_eval_reasoning`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("eval_reasoning")
