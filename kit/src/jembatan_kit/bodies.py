"""Request bodies of commands, and how a body that cannot be read is refused.

A command's body names only fields the endpoint knows: one it does not know (a client's typo,
or a term the rules forbid, such as `salary_deduction`) is refused, never dropped, so it is never
mistaken for accepted. Every body a command endpoint reads is a `CommandBody`.

A body refused by validation answers 422 in the shape of every other refusal
(`{"error", "message", "details"}`, see `errors.RuleViolation`), naming each field to fix; the
list FastAPI gives (`detail`) is kept beside it for clients that read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

UNKNOWN_FIELD = "extra_forbidden"
"""pydantic's error type for a field the model does not have."""


class CommandBody(BaseModel):
    """The body of a command: a field it does not declare is refused (422 `unknown_field`)."""

    model_config = ConfigDict(extra="forbid")


def field_name(location: Sequence[int | str]) -> str:
    """`["body", "stages", 0, "centre"]` as `stages[0].centre`; a query or path parameter by
    its name."""
    name = ""
    for part in location[1:]:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or str(location[0])


def problems_of(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [
        {
            "field": field_name(error["loc"]),
            "location": str(error["loc"][0]),
            "problem": (
                "is not a field of this request: it is refused, not ignored (check its "
                "spelling against the API documentation, /docs)"
                if error["type"] == UNKNOWN_FIELD
                else error["msg"]
            ),
        }
        for error in errors
    ]


async def refuse_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """The exception handler for `RequestValidationError`: 422 naming each field to fix."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    problems = problems_of(errors)
    unknown = [
        problem["field"]
        for problem, error in zip(problems, errors, strict=True)
        if error["type"] == UNKNOWN_FIELD
    ]
    rule = "unknown_field" if len(unknown) == len(problems) else "invalid_request"
    return JSONResponse(
        status_code=422,
        content={
            "error": rule,
            "message": "; ".join(f"{p['field']}: {p['problem']}" for p in problems),
            "details": {"problems": problems, "unknown_fields": unknown},
            "detail": jsonable_encoder(errors),
        },
    )
