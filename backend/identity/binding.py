"""Real-name binding (实名认证) only with a proof of identity, and reclaiming an identity.

Two proofs bind an ID number to a citizen account:

- **Face verification in the mini-program** (:mod:`backend.identity.face`): the citizen names
  the person (``start_face_verification``), the mini-program runs WeChat's face check with the
  ``verify_id`` it gets back, and ``bind_with_face`` redeems it server-side: the account is bound
  only when WeChat confirms the face for that very name, ID number and WeChat user. A
  ``verify_id`` belongs to the account that started it, is redeemed once, and expires with
  WeChat's ``expires_in`` (timed by the injected clock).
- **At a station**: the citizen shows a one-time binding code from the app; a clerk checks the
  physical ID card in person and records it (``bind_at_station``). The proof keeps the clerk,
  the station and the time, and is audited.

Typing a name and an ID number is no longer enough for anything.

**Reclaiming.** When the proven ID number is bound to another account, the proof wins: that
account's binding ends, all its sessions are revoked, the payout bank accounts it set on the
person's claims are frozen for review, supervision staff get an alert, and both accounts get a
message. Everything in one transaction, audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.cases.models import InboxMessage
from backend.claims.models import Claim, ClaimStatus, Disbursement, DisbursementStatus
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.identity import tokens
from backend.identity.face import CertInfo
from backend.identity.idcard import parse_id_number
from backend.identity.models import (
    Account,
    IdentityAlert,
    IdentityVerification,
    Person,
    ProofMethod,
    RealNameProof,
    Role,
    VerificationStatus,
)
from backend.identity.persons import (
    ID_FIELD,
    PHONE_FIELD,
    check_name,
    find_or_create_person,
    person_view,
)
from backend.identity.principal import Principal
from backend.identity.profile import load_account, me, profile_changed
from backend.identity.results import (
    FaceSession,
    IdentityAlerts,
    IdentityAlertView,
    StationBound,
    StationCode,
)
from backend.identity.service import (
    BINDING_WINDOW_S,
    check_phone,
    limit,
    policy_of,
)
from backend.infra.crypto import mask_id_number

STATION_CODE_TTL_S = 600
RECLAIMED = "reclaimed"


def _already_bound() -> Conflict:
    return Conflict("该账户已完成实名绑定，如需更换请到医保服务窗口办理", code="ALREADY_BOUND")


async def _account_event(
    c: Container, actor: Principal | None, action: str, account_id: int, data: dict[str, Any]
) -> None:
    """Audit a step of binding ``account_id`` to a person."""
    await record(
        c, actor=actor, action=action, subject_type="account", subject_id=account_id, data=data
    )


async def _citizen_account(c: Container, principal: Principal) -> Account:
    if principal.role is not Role.CITIZEN:
        raise Forbidden("仅公众用户需要实名绑定")
    account = await load_account(principal)
    if account.person_id is not None:  # type: ignore[attr-defined]
        raise _already_bound()
    return account


# ---------------------------------------------------------------------------- face check


async def start_face_verification(
    c: Container, principal: Principal, name: str, id_number: str
) -> FaceSession:
    """Ask WeChat for a face-verification session for this name and ID number; the
    mini-program passes the returned ``verify_id`` to ``wx.requestFacialVerify``. Says nothing
    about whether the number is known or bound (no oracle)."""
    await limit(
        c,
        f"rl:binding:{principal.account_id}",
        BINDING_WINDOW_S,
        policy_of(c).bindings_per_hour,
    )
    account = await _citizen_account(c, principal)
    idn = parse_id_number(id_number, c.clock.now().date())
    cert = CertInfo(check_name(name), idn.value)
    out_seq_no = "yb" + secrets.token_hex(15)
    session = await c.face_verifier.get_verify_id(out_seq_no, cert, account.openid or "")
    now = c.clock.now()
    await IdentityVerification.create(
        account_id=account.id,
        out_seq_no=out_seq_no,
        verify_id=session.verify_id,
        name=cert.name,
        id_number_enc=c.pii.encrypt(cert.id_number, ID_FIELD),
        status=VerificationStatus.PENDING,
        expires_at=now + timedelta(seconds=session.expires_in),
        created_at=now,
    )
    await _account_event(
        c,
        principal,
        "identity.face_verification_started",
        account.id,
        {"out_seq_no": out_seq_no, "id_number": mask_id_number(cert.id_number)},
    )
    return FaceSession(session.verify_id, session.expires_in)


async def bind_with_face(
    c: Container, principal: Principal, verify_id: str, phone: str | None = None
) -> dict[str, object]:
    """Redeem a finished face verification: bind (or reclaim) on a pass, refuse otherwise."""
    account = await _citizen_account(c, principal)
    phone = check_phone(phone) if phone is not None else None
    row = await IdentityVerification.get_or_none(verify_id=verify_id, account_id=account.id)
    if row is None:  # another account's verify_id looks exactly like a made-up one
        raise NotFound("未找到该人脸核身记录，请重新核身", code="VERIFICATION_NOT_FOUND")
    if row.status is not VerificationStatus.PENDING:
        raise Conflict("该人脸核身结果已使用，请重新核身", code="VERIFICATION_USED")
    if row.expires_at <= c.clock.now():
        raise Conflict("人脸核身已过期，请重新核身", code="VERIFICATION_EXPIRED")
    cert = CertInfo(row.name, c.pii.decrypt(row.id_number_enc, ID_FIELD))
    result = await c.face_verifier.query_verify_info(
        row.verify_id, row.out_seq_no, cert.cert_hash, account.openid or ""
    )
    if not result.passed:
        await IdentityVerification.filter(id=row.id, status=VerificationStatus.PENDING).update(
            status=VerificationStatus.REFUSED,
            verify_ret=result.verify_ret,
            finished_at=c.clock.now(),
        )
        await _account_event(
            c,
            principal,
            "identity.face_verification_refused",
            account.id,
            {"errcode": result.errcode, "verify_ret": result.verify_ret},
        )
        raise InvalidInput(
            f"人脸核身未通过：{result.reason}",
            code="IDENTITY_NOT_VERIFIED",
            verify_ret=result.verify_ret,
        )
    # Spent before binding: a second redemption of the same verify_id loses here.
    spent = await IdentityVerification.filter(id=row.id, status=VerificationStatus.PENDING).update(
        status=VerificationStatus.PASSED, verify_ret=result.verify_ret, finished_at=c.clock.now()
    )
    if not spent:
        raise Conflict("该人脸核身结果已使用，请重新核身", code="VERIFICATION_USED")
    proof = Proof(ProofMethod.FACE, verification_id=row.id)
    await bind(c, principal, account, cert, proof, phone=phone)
    return await me(c, principal)


# ---------------------------------------------------------------------------- at a station


def _station_code_key(code: str) -> str:
    return f"binding-code:{code}"


async def station_binding_code(c: Container, principal: Principal) -> StationCode:
    """A one-time code the citizen shows at the counter, so the clerk binds this account."""
    account = await _citizen_account(c, principal)
    code = f"{secrets.randbelow(10**8):08d}"
    await c.kv.set(_station_code_key(code), str(account.id), STATION_CODE_TTL_S)
    return StationCode(code, STATION_CODE_TTL_S)


async def bind_at_station(
    c: Container, clerk: Principal, *, code: str, name: str, id_number: str, card_checked: bool
) -> StationBound:
    """A clerk who has checked the physical ID card binds the account that showed ``code``."""
    if clerk.role is not Role.STATION_STAFF or clerk.station_id is None:
        raise Forbidden("仅服务站工作人员可以办理", code="STATION_STAFF_ONLY")
    if not card_checked:
        raise InvalidInput("须当面核验居民身份证原件", code="ID_CARD_NOT_CHECKED")
    idn = parse_id_number(id_number, c.clock.now().date())
    cert = CertInfo(check_name(name), idn.value)
    key = _station_code_key(code.strip())
    account_id = await c.kv.get(key)
    if account_id is None:
        raise NotFound(
            "绑定码无效或已过期，请让群众在小程序中重新获取", code="BINDING_CODE_INVALID"
        )
    await c.kv.delete(key)
    account = await Account.get(id=int(account_id))
    if account.person_id is not None:  # type: ignore[attr-defined]
        raise _already_bound()
    proof = Proof(ProofMethod.STATION, clerk_id=clerk.account_id, station_id=clerk.station_id)
    person = await bind(c, clerk, account, cert, proof)
    return StationBound(
        account_id=account.id,
        person=person_view(c, person),
        method=ProofMethod.STATION.value,
        station_id=clerk.station_id,
        clerk_id=clerk.account_id,
        bound_at=c.clock.now().isoformat(),
    )


# ---------------------------------------------------------------------------- binding


@dataclass(frozen=True)
class Proof:
    method: ProofMethod
    verification_id: int | None = None
    clerk_id: int | None = None
    station_id: int | None = None


async def _message(
    c: Container, person_id: int | None, account_id: int, title: str, body: str
) -> None:
    await InboxMessage.create(
        person_id=person_id, account_id=account_id, title=title, body=body, created_at=c.clock.now()
    )


async def _freeze_payouts(c: Container, person_id: int, account_id: int) -> list[int]:
    """Freeze the payouts of the person's claims on which ``account_id`` set the bank account;
    returns the claim ids."""
    claim_ids = [
        claim.id
        for claim in await Claim.filter(
            person_id=person_id, created_by_id=account_id, bank_account_enc__not=""
        )
        .exclude(status=ClaimStatus.REJECTED)
        .only("id")
    ]
    if not claim_ids:
        return []
    await Claim.filter(id__in=claim_ids).update(payout_frozen_at=c.clock.now())
    await Disbursement.filter(claim_id__in=claim_ids, status=DisbursementStatus.SCHEDULED).update(
        status=DisbursementStatus.FROZEN
    )
    return claim_ids


async def _reclaim(
    c: Container, actor: Principal, person: Person, previous: Account, account: Account
) -> None:
    """End ``previous``'s binding of ``person`` in favour of ``account`` (in the transaction)."""
    now = c.clock.now()
    await Account.filter(id=previous.id).update(person_id=None, display_name="")
    await RealNameProof.filter(account_id=previous.id, person_id=person.id, ended_at=None).update(
        ended_at=now, ended_reason=RECLAIMED
    )
    frozen = await _freeze_payouts(c, person.id, previous.id)
    await IdentityAlert.create(
        kind="identity_reclaimed",
        person_id=person.id,
        previous_account_id=previous.id,
        account_id=account.id,
        details={"frozen_claim_ids": frozen},
        created_at=now,
    )
    await _message(
        c,
        None,
        previous.id,
        "实名绑定已解除",
        "本人已通过身份核验取回该身份，您账户上的实名绑定已解除，相关登录已退出。"
        "如有疑问请携带身份证到医保服务站咨询。",
    )
    await _message(
        c,
        person.id,
        account.id,
        "身份已取回",
        "您的身份此前被其他账户绑定，现已解除并绑定到本账户。"
        + ("该账户为您的报销申请设置的收款账户已冻结，待核查。" if frozen else ""),
    )
    await record(
        c,
        actor=actor,
        action="identity.reclaimed",
        subject_type="person",
        subject_id=person.id,
        reason="本人通过身份核验取回被他人绑定的身份",
        data={
            "previous_account_id": previous.id,
            "account_id": account.id,
            "frozen_claim_ids": frozen,
        },
    )


async def bind(
    c: Container,
    actor: Principal,
    account: Account,
    cert: CertInfo,
    proof: Proof,
    *,
    phone: str | None = None,
) -> Person:
    """Bind ``account`` to the person ``cert`` names, on a proof; reclaim from another account
    when needed. Returns the person."""
    person = await find_or_create_person(c, cert.name, cert.id_number)
    previous = await Account.get_or_none(person_id=person.id)
    try:
        async with in_transaction():
            if previous is not None and previous.id != account.id:
                await _reclaim(c, actor, person, previous, account)
            # Compare-and-set: a concurrent binding of this account, or of this person to
            # another account (unique person_id), loses here instead of binding twice.
            updated = await Account.filter(id=account.id, person_id=None).update(
                person_id=person.id, display_name=person.name
            )
            if not updated:
                raise _already_bound()
            if phone is not None:
                await Person.filter(id=person.id).update(
                    phone_enc=c.pii.encrypt(phone, PHONE_FIELD)
                )
            await RealNameProof.create(
                account_id=account.id,
                person_id=person.id,
                method=proof.method,
                verification_id=proof.verification_id,
                clerk_id=proof.clerk_id,
                station_id=proof.station_id,
                created_at=c.clock.now(),
            )
            reclaimed = previous.id if previous and previous.id != account.id else None
            await _account_event(
                c,
                actor,
                "identity.real_name_bound",
                account.id,
                {
                    "person_id": person.id,
                    "id_number": mask_id_number(cert.id_number),
                    "method": proof.method.value,
                    "station_id": proof.station_id,
                    "reclaimed_from": reclaimed,
                },
            )
    except IntegrityError as exc:
        raise Conflict("该身份正在被同时绑定，请稍后重试", code="BINDING_BUSY") from exc
    if previous is not None and previous.id != account.id:
        await tokens.revoke_all_sessions(c, previous.id)
        await profile_changed(c, previous.id)
    await profile_changed(c, account.id)
    return person


async def identity_alerts(c: Container, actor: Principal) -> IdentityAlerts:
    """Supervision staff: identities reclaimed from another account, newest first."""
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden()
    rows = await IdentityAlert.all().order_by("-id").limit(100).prefetch_related("person")
    return IdentityAlerts(
        [
            IdentityAlertView(
                id=a.id,
                kind=a.kind,
                person=person_view(c, a.person),
                previous_account_id=a.previous_account_id,
                account_id=a.account_id,
                frozen_claim_ids=a.details.get("frozen_claim_ids", []),
                created_at=a.created_at.isoformat(),
            )
            for a in rows
        ]
    )
