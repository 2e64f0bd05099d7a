"""The model area: InternVL3 VLM, π0-style flow-matching action expert, checkpoints, the sim agent.

Modules import torch/transformers lazily where they can, so ``import vlaser.model`` stays cheap.
See docs/model.md for the architecture, the block mask, the time convention and the checkpoint layout.
"""
