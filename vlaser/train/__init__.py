"""Training: stage 1 (VLM SFT on a mixture) and stage 2 (VLA flow matching on demonstrations).

    from vlaser.train import pretrain, finetune

Heavy imports (torch, deepspeed, transformers) happen on first call, so importing this package is cheap.
"""

from __future__ import annotations

from typing import Any


def pretrain(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """See ``vlaser.train.stage1.pretrain``."""
    from vlaser.train.stage1 import pretrain as _pretrain

    return _pretrain(*args, **kwargs)


def finetune(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """See ``vlaser.train.stage2.finetune``."""
    from vlaser.train.stage2 import finetune as _finetune

    return _finetune(*args, **kwargs)


__all__ = ["pretrain", "finetune"]
