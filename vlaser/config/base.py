"""Base model for every settings section: strict, frozen, unknown keys rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A settings section. ``extra="forbid"`` makes a misspelt key an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True)
