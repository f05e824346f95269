"""Response models of accounts, sign-in, the profile and identity checks."""

from __future__ import annotations

from pydantic import Field

from handlers.responses.base import Out
from handlers.responses.claims import DisbursementOut
from handlers.responses.enrollment import PersonOut


class DeactivateOut(Out):
    id: int
    is_active: bool


class LoginOut(Out):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    role: str
    bound: bool


class DevLoginCodeOut(Out):
    code: str


class RefreshOut(Out):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class ProfileStation(Out):
    id: int
    code: str
    name: str
    level: str


class ProfileOut(Out):
    id: int
    role: str
    display_name: str
    username: str | None
    bound: bool
    person: PersonOut | None
    phone: str | None
    station: ProfileStation | None
    categories: list[str]


class DevFaceVerifyOut(Out):
    verify_id: str
    finished: bool


class FaceVerificationOut(Out):
    verify_id: str = Field(description="传给 wx.requestFacialVerify 的人脸核身会话标识")
    expires_in: int = Field(description="会话有效期（秒）")


class StationCodeOut(Out):
    code: str = Field(description="8 位一次性绑定码，出示给服务站工作人员")
    expires_in: int = Field(description="有效期（秒）")


class IdentityAlertOut(Out):
    id: int
    kind: str
    person: PersonOut
    previous_account_id: int | None
    account_id: int
    frozen_claim_ids: list[int]
    created_at: str


class IdentityAlertsOut(Out):
    items: list[IdentityAlertOut]


class FrozenPayoutOut(Out):
    claim_id: int
    claim_number: str
    claim_status: str
    person: PersonOut
    set_by_account_id: int  # the account that entered the bank account
    bank_name: str
    bank_account: str
    frozen_at: str | None  # null once released
    payout: DisbursementOut | None


class FrozenPayoutsOut(Out):
    items: list[FrozenPayoutOut]
