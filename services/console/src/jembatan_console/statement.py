"""The participant's own statement, in Bahasa Indonesia (English a click away), through a link
a loan officer hands over. The link carries the loan's id signed by the console
(itsdangerous, with the console's secret and an expiry): it opens that loan's statement and
nothing else, needs no account, and cannot be turned into another loan's link. The console
fetches the statement with a token of its agency minted for that one request (two minutes,
no roles), which never leaves the server."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from jembatan_kit.issuers import issue_token

from .backend import Backend
from .web import issuer_of, render, settings_of

router = APIRouter()
SALT = "jembatan-console.statement-link"


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt=SALT)


def statement_link(request: Request, loan_id: uuid.UUID) -> str:
    """The participant's link to the statement of `loan_id`, absolute."""
    signed = _signer(request).dumps(str(loan_id))
    return str(request.base_url).rstrip("/") + f"/statement/{signed}"


@router.get("/statement/{signed}", response_class=HTMLResponse)
async def statement_page(request: Request, signed: str) -> HTMLResponse:
    settings = settings_of(request)
    try:
        loan_id = uuid.UUID(
            _signer(request).loads(signed, max_age=settings.console_statement_link_days * 86400)
        )
    except (BadSignature, ValueError):
        return render(request, "statement.html", None, 404, statement=None)
    token = issue_token(
        issuer_of(request),
        "statement-link",
        [],
        timedelta(minutes=2),
        settings.auth_audience,
    )
    backend = Backend(settings.service_urls, token, request.app.state.http)
    statement = await backend.get("financing", f"/loans/{loan_id}/statement")
    return render(request, "statement.html", None, statement=statement)
