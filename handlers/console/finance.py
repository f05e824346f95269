"""Finance: payouts due, oldest first, mark one paid with the bank's transfer reference, and
the day's payouts as CSV and XLSX for the bank's batch upload."""

from __future__ import annotations

import csv
import io
from datetime import date

import xlsxwriter
from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw, redirect

from backend.claims import desk as claim_desk
from backend.claims import payout as claim_payout
from backend.claims.desk import BatchLine
from backend.clock import local_today
from backend.errors import InvalidInput
from handlers.console.web import container, page, page_response, parse_form, principal

bp = Blueprint("console_finance", url_prefix="/console/finance")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PaidForm(BaseModel):
    reference: str = Field(min_length=4, max_length=64)


@bp.get("", strict_slashes=False)
@page(*claim_payout.FINANCE_ROLES)
async def payouts(request: Request) -> HTTPResponse:
    c = container(request)
    due = await claim_desk.payouts_due(c, principal(request))
    return await page_response(
        request, "finance.html", payouts=due, today=local_today(c.clock).isoformat()
    )


@bp.post("/payouts/<payout_id:int>/paid")
@page(*claim_payout.FINANCE_ROLES)
async def mark_paid(request: Request, payout_id: int) -> HTTPResponse:
    form: PaidForm = parse_form(request, PaidForm)
    await claim_payout.mark_paid(
        container(request), principal(request), payout_id, reference=form.reference.strip()
    )
    return redirect("/console/finance?paid=1", status=303)


def _day(request: Request) -> date:
    text = request.args.get("day") or local_today(container(request).clock).isoformat()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("日期格式应为 YYYY-MM-DD", code="DATE_INVALID") from None


def _csv(lines: list[BatchLine], day: date) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(BatchLine.HEADERS)
    for line in lines:
        writer.writerow(line.row())
    return ("\ufeff" + out.getvalue()).encode()  # BOM: spreadsheet programs read UTF-8 right


def _xlsx(lines: list[BatchLine], day: date) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet(f"{day:%Y%m%d}")
    text = book.add_format({"num_format": "@"})  # account numbers stay text, never 6.2E+18
    sheet.write_row(0, 0, BatchLine.HEADERS)
    for n, line in enumerate(lines, 1):
        for col, value in enumerate(line.row()):
            sheet.write_string(n, col, value, text)
    sheet.set_column(0, len(BatchLine.HEADERS) - 1, 18)
    book.close()
    return buffer.getvalue()


EXPORTS = {"csv": (_csv, "text/csv; charset=utf-8"), "xlsx": (_xlsx, XLSX)}


@bp.get("/export.csv", name="export_csv")
@bp.get("/export.xlsx", name="export_xlsx")
@page(*claim_payout.FINANCE_ROLES)
async def export(request: Request) -> HTTPResponse:
    """The day's payouts for the bank: ``export.csv`` or ``export.xlsx``."""
    kind = request.path.rsplit(".", 1)[-1]
    write, content_type = EXPORTS[kind]
    day = _day(request)
    lines = await claim_desk.day_batch(container(request), principal(request), day)
    headers = {
        "Content-Disposition": f'attachment; filename="payouts-{day:%Y%m%d}.{kind}"',
        "Cache-Control": "no-store",
    }
    return raw(write(lines, day), content_type=content_type, headers=headers)
