"""Shared test helpers that build real data through the services (additive: one section each)."""

from __future__ import annotations

from backend.container import Container
from backend.terminals.service import IssuedTerminal, register_terminal, sign_request

# --- terminals ---------------------------------------------------------------------------


async def make_terminal(
    c: Container,
    *,
    institution_code: str = "H33010600123",
    name: str = "西湖区第一人民医院",
    city: str = "330100",
) -> IssuedTerminal:
    return await register_terminal(
        c, institution_code=institution_code, institution_name=name, city_code=city
    )


def terminal_headers(
    c: Container,
    terminal: IssuedTerminal,
    method: str,
    target: str,
    body: bytes | str = b"",
    *,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Signature headers as a terminal would send them, timed by the container's clock."""
    ts = int(c.clock.now().timestamp()) if timestamp is None else timestamp
    return sign_request(
        terminal.identity.key_id, terminal.secret, method, target, body, timestamp=ts, nonce=nonce
    )


# --- citizens, staff, stations and family ------------------------------------------------

import itertools  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date, timedelta  # noqa: E402

from backend.clock import local_today  # noqa: E402
from backend.identity.idcard import check_character  # noqa: E402
from backend.identity.idp import LocalIdentityProvider  # noqa: E402
from backend.identity.models import Account, Person, Role  # noqa: E402
from backend.identity.persons import find_or_create_person  # noqa: E402
from backend.identity.tokens import start_session  # noqa: E402
from backend.stations.models import Station, StationLevel  # noqa: E402
from backend.stations.service import SERVICE_ITEMS, create_station  # noqa: E402

_sequence = itertools.count(101)


def make_id_number(born: date, *, region: str = "330106", seq: int | None = None) -> str:
    """A valid GB 11643 number; ``seq`` (0-999) odd for men. Unique per call by default."""
    number = next(_sequence) % 1000 if seq is None else seq
    first17 = f"{region}{born:%Y%m%d}{number:03d}"
    return first17 + check_character(first17)


def _born_years_ago(c: Container, years: int) -> date:
    """Someone who turned ``years`` about a month ago (local date)."""
    return local_today(c.clock) - timedelta(days=years * 365 + years // 4 + 30)


def adult_id_number(c: Container, years: int = 35, seq: int | None = None) -> str:
    return make_id_number(_born_years_ago(c, years), seq=seq)


def minor_id_number(c: Container, years: int = 8, seq: int | None = None) -> str:
    return make_id_number(_born_years_ago(c, years), seq=seq)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Login:
    account: Account
    token: str
    person: Person | None = None

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    async def relogin(self, c: Container) -> None:
        """A fresh access token (after moving the clock past the old one's expiry)."""
        self.token = (await start_session(c, self.account)).access_token


async def make_citizen(
    c: Container,
    user: str = "citizen",
    *,
    name: str = "张三丰",
    id_number: str | None = None,
    bind: bool = True,
) -> Login:
    """A citizen account (simulator openid for ``user``), bound to a person unless bind=False."""
    person = None
    if bind:
        person = await find_or_create_person(c, name, id_number or adult_id_number(c))
    account = await Account.create(
        role=Role.CITIZEN,
        openid=LocalIdentityProvider().openid_for(user),
        display_name=name if bind else "",
        person=person,
    )
    return Login(account, (await start_session(c, account)).access_token, person)


async def make_staff(
    c: Container,
    role: Role,
    username: str,
    *,
    station: Station | None = None,
    categories: tuple[str, ...] = (),
) -> Login:
    account = await Account.create(
        role=role,
        username=username,
        display_name=username,
        station=station,
        categories=list(categories),
    )
    return Login(account, (await start_session(c, account)).access_token)


async def make_station_tree(c: Container) -> dict[str, Station]:
    """district → two towns → a village each (the second town without reimbursement)."""
    every = list(SERVICE_ITEMS)
    district = await create_station(
        c,
        code="D01",
        name="某区医保服务中心",
        level=StationLevel.DISTRICT,
        parent=None,
        items=every,
    )
    town_a = await create_station(
        c,
        code="D01-T01",
        name="东城街道医保服务站",
        level=StationLevel.TOWN,
        parent=district,
        items=every,
    )
    town_b = await create_station(
        c,
        code="D01-T02",
        name="南山镇医保服务站",
        level=StationLevel.TOWN,
        parent=district,
        items=["insurance_info_change", "enrollment", "remote_care_filing"],
    )
    village_a = await create_station(
        c,
        code="D01-T01-V01",
        name="东城社区医保服务点",
        level=StationLevel.VILLAGE,
        parent=town_a,
        items=["insurance_info_change", "enrollment"],
    )
    village_b = await create_station(
        c,
        code="D01-T02-V01",
        name="南山村医保服务点",
        level=StationLevel.VILLAGE,
        parent=town_b,
        items=["enrollment"],
    )
    return {
        "district": district,
        "town_a": town_a,
        "town_b": town_b,
        "village_a": village_a,
        "village_b": village_b,
    }


# --- identity and access -------------------------------------------------------------------

STAFF_PASSWORD = "Yibao#2024pass"


def id_number_for(region: str = "330106", birth: str = "19900101", seq: str = "123") -> str:
    """A valid 18-digit resident ID number (correct GB 11643 check character)."""
    first17 = f"{region}{birth}{seq}"
    return first17 + check_character(first17)


async def make_staff_with_password(
    c: Container,
    username: str = "staff01",
    password: str = STAFF_PASSWORD,
    *,
    role: str = "station_staff",
    station_id: int | None = None,
    categories: list[str] | None = None,
    display_name: str = "工作人员",
):
    """A staff, reviewer, supervisor or admin account with an argon2 password (log in with
    :func:`login_staff`)."""
    from backend.identity.passwords import hash_password

    return await Account.create(
        role=Role(role),
        username=username,
        password_hash=hash_password(password),
        station_id=station_id,
        categories=categories or [],
        display_name=display_name,
    )


async def login_staff(client, username: str = "staff01", password: str = STAFF_PASSWORD) -> dict:
    """Log a staff account in through the API; returns the token JSON."""
    _, resp = await client.post(
        "/api/v1/auth/staff/login", json={"username": username, "password": password}
    )
    assert resp.status == 200, resp.json
    return resp.json


async def login_citizen(client, c: Container, user: str = "citizen-1") -> dict:
    """Play wx.login() on the simulator and log in through the API; returns the token JSON."""
    code = c.identity_provider.issue_code(user)  # type: ignore[attr-defined]
    _, resp = await client.post("/api/v1/auth/citizen/login", json={"code": code})
    assert resp.status == 200, resp.json
    return resp.json


async def bind_citizen(
    client,
    token: str,
    name: str = "张三",
    id_number: str | None = None,
    phone: str | None = None,
    outcome: str = "pass",
):
    """Real-name binding as the mini-program does it: POST /me/verification, the face check
    (the simulator's wx.requestFacialVerify, finding ``outcome``), POST /me/binding. Returns
    the first response that is not a success (callers assert the status they expect)."""
    headers = bearer(token)
    start = {"name": name, "id_number": id_number or id_number_for()}
    _, resp = await client.post("/api/v1/me/verification", json=start, headers=headers)
    if resp.status != 201:
        return resp
    verify_id = resp.json["verify_id"]
    check = {"verify_id": verify_id, "outcome": outcome}
    _, checked = await client.post("/api/v1/dev/face-verify", json=check)
    assert checked.status == 200, checked.json
    payload: dict[str, str] = {"verify_id": verify_id}
    if phone is not None:
        payload["phone"] = phone
    _, resp = await client.post("/api/v1/me/binding", json=payload, headers=headers)
    return resp


async def bound_citizen(
    client, c: Container, user: str = "citizen-1", name: str = "张三", id_number: str | None = None
) -> dict:
    """A logged-in citizen with a real-name binding; returns the token JSON."""
    tokens = await login_citizen(client, c, user)
    resp = await bind_citizen(client, tokens["access_token"], name, id_number)
    assert resp.status == 200, resp.json
    return tokens


# --- e-vouchers ---------------------------------------------------------------------------

VOUCHERS = "/api/v1/me/vouchers"
VOUCHER_VERIFY = "/api/v1/terminal/vouchers/verify"
VOUCHER_USES = "/api/v1/terminal/vouchers/uses"


async def enroll_for_this_year(c: Container, person_id: int):
    """Mark ``person_id`` enrolled (paid) for the current insurance year."""
    from backend.enrollment.models import Enrollment, EnrollmentStatus

    return await Enrollment.create(
        person_id=person_id,
        year=local_today(c.clock).year,
        status=EnrollmentStatus.ENROLLED,
        enrolled_at=c.clock.now(),
        channel="app",
    )


async def activate_voucher(client, login: Login, person_id: int | None = None) -> dict:
    payload = {} if person_id is None else {"person_id": person_id}
    _, resp = await client.post(VOUCHERS, json=payload, headers=login.headers)
    assert resp.status == 201, resp.text
    return resp.json


async def voucher_code(client, login: Login, voucher_id: str) -> str:
    _, resp = await client.get(f"{VOUCHERS}/{voucher_id}/code", headers=login.headers)
    assert resp.status == 200, resp.text
    return resp.json["code"]


def signed_json(
    c: Container, terminal: IssuedTerminal, path: str, payload: object
) -> tuple[bytes, dict[str, str]]:
    """The exact body bytes and the signature headers of a terminal's JSON POST."""
    import json

    raw = json.dumps(payload, ensure_ascii=False).encode()
    headers = terminal_headers(c, terminal, "POST", path, raw)
    return raw, {**headers, "Content-Type": "application/json"}


async def terminal_verify(
    client, c: Container, terminal: IssuedTerminal, code: object, purpose: str = "02121"
):
    """POST /terminal/vouchers/verify, signed by ``terminal``; returns the response."""
    raw, headers = signed_json(c, terminal, VOUCHER_VERIFY, {"code": code, "purpose": purpose})
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    return resp


# --- station authorisation forms ------------------------------------------------------------

AUTHORISATIONS = "/api/v1/station/authorisations"


def scanned_form() -> dict[str, tuple[str, bytes, str]]:
    """The scan of a signed paper form, as the clerk uploads it."""
    from tests.claim_helpers import test_photo

    return {"signed_form": ("form.jpg", test_photo(11), "image/jpeg")}


async def record_form(client, fields: dict, headers: dict, *, card_checked: bool = True):
    """POST /station/authorisations as a clerk does: the grantor in person (ID card checked)
    and the signed form scanned. Returns the response."""
    data = {k: str(v) for k, v in fields.items()}
    data["grantor_id_card_checked"] = "true" if card_checked else "false"
    _, resp = await client.post(AUTHORISATIONS, data=data, files=scanned_form(), headers=headers)
    return resp
