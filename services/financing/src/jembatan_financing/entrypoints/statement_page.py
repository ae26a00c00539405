"""The participant's statement as a plain printable page: no scripts, readable on a phone and on
paper. Every value is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from html import escape
from typing import Any

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem; max-width: 48rem; color: #111; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .95rem; }
th, td { border-bottom: 1px solid #999; padding: .3rem .4rem; text-align: left; }
td.n, th.n { text-align: right; white-space: nowrap; }
.total td { font-weight: bold; border-top: 2px solid #111; }
@media print { body { margin: 0; } a { color: inherit; } }
"""


def rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def yen(amount: int) -> str:
    return "¥" + f"{amount:,}"


def _day(value: date | str | None) -> str:
    return escape(str(value)) if value is not None else "-"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(
        f"<th{' class=n' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_statement(statement: dict[str, Any]) -> str:
    rate = statement["exchange_rate"]
    totals = statement["totals"]
    arrears = statement["arrears"]
    charges = _table(
        ["Item", "Description", "Date", "Amount (IDR)", "Amount (JPY)"],
        [
            (
                escape(c["code"]),
                escape(c["description"]),
                _day(c["charged_on"]),
                rupiah(c["amount_idr"]),
                yen(c["amount_jpy"]),
            )
            for c in statement["charges"]
        ],
        {3, 4},
    )
    subsidies = _table(
        ["Provider", "Item", "Date", "Amount (IDR)"],
        [
            (
                escape(s["provider"]),
                escape(s["item"]),
                _day(s["granted_on"]),
                rupiah(s["amount_idr"]),
            )
            for s in statement["subsidies"]
        ],
        {3},
    )
    payments = _table(
        ["Reference", "Paid on", "Instalments", "Amount (IDR)"],
        [
            (
                escape(p["reference"]),
                _day(p["paid_on"]),
                escape(", ".join(str(n) for n in p["instalment_numbers"]) or "credit"),
                rupiah(p["amount_idr"]),
            )
            for p in statement["payments"]
        ],
        {3},
    )
    schedule = _table(
        ["No.", "Due", "Amount (IDR)", "Paid (IDR)", ""],
        [
            (
                str(i["number"]),
                _day(i["due_date"]),
                rupiah(i["amount_idr"]),
                rupiah(i["paid_idr"]),
                "replaced by restructuring" if i["superseded"] else "",
            )
            for i in statement["schedule"]
        ],
        {2, 3},
    )
    summary = _table(
        ["", "IDR"],
        [
            ("Charges", rupiah(totals["charges_idr"])),
            ("Subsidies", "- " + rupiah(totals["subsidies_idr"])),
            ("Written off by the funder", "- " + rupiah(totals["written_off_idr"])),
            ("You owe", rupiah(totals["owed_idr"])),
            ("You paid", rupiah(totals["paid_idr"])),
            ("Balance", rupiah(totals["balance_idr"])),
            ("Refund due to you", rupiah(totals["refund_due_idr"])),
            (
                f"In arrears ({escape(str(arrears['bucket']))} days past due)",
                rupiah(arrears["amount_idr"]),
            ),
        ],
        {1},
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Loan statement {escape(str(statement["loan_id"]))}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Statement of your placement costs</h1>
<p>Loan {escape(str(statement["loan_id"]))} ({escape(statement["track"])}),
funded by {escape(statement["funder"] or "-")}; status {escape(str(statement["status"]))};
as of {_day(statement["as_of"])}; departure {_day(statement["departure_date"])}.</p>
<p>{escape(statement["interest"]["statement"])}</p>
<p>You repay only by your own transfer. Nothing is ever deducted from your wage in Japan, and no
deposit, penalty or forced saving may be charged to you.</p>
<h2>Summary</h2>
{summary}
<h2>Fee disclosure: charges</h2>
<p>Yen at Rp{escape(rate["idr_per_jpy"])} per yen, rate of {_day(rate["rate_date"])}
({escape(rate["source"])}).</p>
{charges}
<p>Total charges: {rupiah(totals["charges_idr"])} ({yen(totals["charges_jpy"])}).</p>
<h2>Subsidies</h2>
{subsidies}
<h2>Payments</h2>
{payments}
<h2>Repayment schedule</h2>
{schedule}
</body>
</html>
"""
