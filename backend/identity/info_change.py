"""参保信息变更 takes effect: issuing the case writes the new phone, address or payout bank
account onto the person's record, in the same transaction as the issuance.

Until the case is issued nothing changes, so a bank account change that two reviewers have
not approved never reaches the record that payouts read.
"""

from __future__ import annotations

from backend.cases import access, forms, hooks
from backend.cases.models import Case
from backend.container import Container
from backend.identity.models import Account, Person
from backend.identity.persons import PHONE_FIELD
from backend.identity.profile import profile_changed
from workflows.vocabulary import INSURANCE_INFO_CHANGE

SERVICE = INSURANCE_INFO_CHANGE
ADDRESS_FIELD = "address"
BANK_ACCOUNT_FIELD = "bank_account"


async def _after_transition(c: Container, case: Case, name: str, actor: access.Actor) -> None:
    if name != "issue":
        return
    form = forms.full_form(c, case)
    person_id: int = case.applicant_id
    change = form["change_type"]
    if change == "phone":
        updates = {"phone_enc": c.pii.encrypt(form["new_phone"], PHONE_FIELD)}
    elif change == "address":
        updates = {"address_enc": c.pii.encrypt(form["new_address"], ADDRESS_FIELD)}
    else:
        updates = {
            "payout_bank_name": form["bank_name"],
            "payout_account_enc": c.pii.encrypt(form["bank_account"], BANK_ACCOUNT_FIELD),
        }
    await Person.filter(id=person_id).update(**updates)
    account = await Account.get_or_none(person_id=person_id)
    if account is not None:  # the profile shows the phone: drop it from every process's cache
        await profile_changed(c, account.id)


def register_hooks(registry: hooks.ServiceHookRegistry) -> None:
    registry.register(SERVICE, hooks.ServiceHooks(after_transition=_after_transition))
