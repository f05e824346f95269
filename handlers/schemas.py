"""Request models shared by several blueprints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A request body that refuses unknown fields (a typo is a 422, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class MaterialIn(Strict):
    """One supplied material of a case: its key in the service's list and the stored file."""

    key: str = Field(min_length=1, max_length=40)
    file_ref: str = Field(min_length=1, max_length=200)
