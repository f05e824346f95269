"""The base of every response model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    """A response object. Keys the model does not name are not sent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, from_attributes=True)
