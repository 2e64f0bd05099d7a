"""DVC entry for the `eval_closed_loop` stage (see dvc.yaml); the work is `vlaser.stages.stage_eval_closed_loop`."""

from vlaser.stage_entry import main

if __name__ == "__main__":
    main("eval_closed_loop")
