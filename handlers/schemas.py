"""Request models shared by several blueprints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.cases.models import AuthorisationMethod
from backend.cases.service import Assistance
from workflows.definition import Channel


class Strict(BaseModel):
    """A request body that refuses unknown fields (a typo is a 422, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class MaterialIn(Strict):
    """One supplied material of a case: its key in the service's list and the stored file."""

    key: str = Field(min_length=1, max_length=40)
    file_ref: str = Field(min_length=1, max_length=200)


class AssistanceIn(Strict):
    """帮办代办: whom a clerk files for, and on what authority."""

    applicant_id_number: str = Field(min_length=15, max_length=18)
    channel: Literal["station", "window"] = "station"
    agent_name: str = Field(default="", max_length=50)
    authorisation_method: Literal["app", "signed_form"] | None = None
    authorisation_form_ref: str = Field(default="", max_length=200)
    authorisation_form_number: str = Field(default="", max_length=64)

    def to_assistance(self) -> Assistance:
        method = self.authorisation_method
        return Assistance(
            applicant_id_number=self.applicant_id_number,
            channel=Channel(self.channel),
            agent_name=self.agent_name,
            authorisation_method=AuthorisationMethod(method) if method else None,
            form_ref=self.authorisation_form_ref,
            form_number=self.authorisation_form_number,
        )
