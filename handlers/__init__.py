"""Sanic blueprints only: parse, authorise, call one service function, serialise."""

from __future__ import annotations

from sanic import Blueprint, Sanic

from handlers import accounts as account_handlers
from handlers import auth as auth_handlers
from handlers import case_materials as case_material_handlers
from handlers import cases as case_handlers
from handlers import chronic as chronic_handlers
from handlers import claims as claim_handlers
from handlers import console, docs, health
from handlers import dev as dev_handlers
from handlers import enrollment as enrollment_handlers
from handlers import family as family_handlers
from handlers import filings as filing_handlers
from handlers import me as me_handlers
from handlers import payments as payment_handlers
from handlers import stations as station_handlers
from handlers import terminal as terminal_handlers
from handlers import terminal_vouchers as terminal_voucher_handlers
from handlers import vouchers as voucher_handlers

# Imported for their routes, which they add to ``case_handlers.bp`` (one blueprint, by concern).
from handlers.cases import citizen, desk, public, review  # noqa: F401
from handlers.contract import html_blueprint


def register_blueprints(app: Sanic, *, production: bool) -> None:
    """Every blueprint; the development simulators' endpoints only outside production."""
    app.blueprint(health.bp)
    app.blueprint(docs.bp)
    api = Blueprint.group(url_prefix="/api/v1")
    api.append(terminal_handlers.bp)
    api.append(auth_handlers.bp)
    api.append(me_handlers.bp)
    api.append(account_handlers.bp)
    api.append(family_handlers.bp)
    api.append(station_handlers.bp)
    api.append(case_handlers.bp)
    api.append(case_material_handlers.bp)
    api.append(filing_handlers.bp)
    api.append(chronic_handlers.bp)
    api.append(claim_handlers.bp)
    api.append(enrollment_handlers.bp)
    api.append(payment_handlers.bp)
    api.append(voucher_handlers.bp)
    api.append(terminal_voucher_handlers.bp)
    if not production:
        api.append(dev_handlers.bp)
    app.blueprint(api)
    app.blueprint(voucher_handlers.well_known)
    for blueprint in console.blueprints():
        app.blueprint(blueprint)
        html_blueprint(blueprint)  # HTML pages, not part of the API contract
