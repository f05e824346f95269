"""Request models shared by several blueprints."""

from __future__ import annotations

from collections.abc import Container
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import Strict as StrictMode

from backend.cases.assisted import Assistance
from backend.cases.models import AuthorisationMethod
from backend.identity.idcard import ID_NUMBER_PATTERN
from handlers.contract import MAX_ID
from workflows.definition import Channel
from workflows.vocabulary import CATEGORIES, SERVICES


def _whole_number(value: object) -> object:
    """JSON has one number type: 3.0 is the integer 3 (JSON Schema agrees); "3" is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer in a JSON body: 3 or 3.0, never "3" or true.
JsonInt = Annotated[int, StrictMode(), BeforeValidator(_whole_number)]
# A database id in a body or a query: out of range is a 422, never a query that overflows.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
StrictId = Annotated[int, Field(ge=1, le=MAX_ID), StrictMode(), BeforeValidator(_whole_number)]
# A row version (compare-and-set): bounded like an id.
Version = StrictId

# Vocabularies the services check themselves (with their own codes: ID_NUMBER_INVALID,
# SERVICE_ITEM_UNKNOWN, UNKNOWN_SUBSIDY_CATEGORY, ...): the document states the same rule,
# taken from the same source, so a client knows it before it is refused.
IdNumber = Annotated[
    str,
    Field(
        max_length=32,
        description="18 位居民身份证号码，末位为校验码（GB 11643，可为 X）",
        json_schema_extra={"pattern": ID_NUMBER_PATTERN, "minLength": 18, "maxLength": 18},
    ),
]
ServiceCode = Annotated[
    str, Field(min_length=1, max_length=48, json_schema_extra={"enum": list(SERVICES)})
]
ReviewCategory = Annotated[str, Field(max_length=32, json_schema_extra={"enum": list(CATEGORIES)})]


def _one_of(names: Container[str]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in names:
            raise ValueError("不是已知的取值")
        return value

    return AfterValidator(check)


# As query filters: an unknown code is a 422 (a filter that can never match is a client's
# mistake the document already rules out), not an empty page.
ServiceCodeFilter = Annotated[ServiceCode, _one_of(SERVICES)]
ReviewCategoryFilter = Annotated[ReviewCategory, _one_of(CATEGORIES)]
# The subsidy categories are policy (config/policy/premium.yaml): the document builder puts the
# loaded policy's codes in place of this marker (handlers.api_document).
SUBSIDY_CATEGORY_MARKER = "x-subsidy-categories"
SubsidyCategoryCode = Annotated[
    str, Field(max_length=32, json_schema_extra={SUBSIDY_CATEGORY_MARKER: True})
]


class Strict(BaseModel):
    """A request body that refuses unknown fields (a typo is a 422, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class MaterialIn(Strict):
    """One supplied material of a case: its key in the service's list and the stored file."""

    key: str = Field(min_length=1, max_length=40)
    file_ref: str = Field(min_length=1, max_length=200)


# What filing for someone else can be refused for, besides the service's own rules.
ASSISTED_FORBIDDEN = ("ITEM_NOT_DELEGATED",)
ASSISTED_NOT_FOUND = ("PERSON_NOT_FOUND",)
ASSISTED_REFUSALS = ("AUTHORISATION_FORM_REQUIRED", "AUTHORISATION_REQUIRED", "ID_NUMBER_INVALID")


class AssistanceIn(Strict):
    """帮办代办: whom a clerk files for, and on what authority."""

    applicant_id_number: IdNumber
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
