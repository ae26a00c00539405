"""A command's body: a field it does not know is refused, and every 422 names the field."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import Field

from jembatan_kit.bodies import CommandBody, refuse_invalid_request


class Stage(CommandBody):
    centre: str


class Plan(CommandBody):
    name: str
    stages: list[Stage] = Field(default_factory=list)


def app() -> FastAPI:
    served = FastAPI()
    served.add_exception_handler(RequestValidationError, refuse_invalid_request)

    @served.post("/plans")
    async def plan(body: Plan) -> dict[str, str]:
        return {"name": body.name}

    return served


async def post(body: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
        return await client.post("/plans", json=body)


async def test_a_known_body_is_read() -> None:
    response = await post({"name": "A", "stages": [{"centre": "BLK"}]})
    assert response.status_code == 200
    assert response.json() == {"name": "A"}


async def test_unknown_fields_are_refused_by_name_even_when_nested() -> None:
    response = await post({"name": "A", "salary_deduction": 1, "stages": [{"centre": "B", "x": 2}]})
    assert response.status_code == 422
    refusal = response.json()
    assert refusal["error"] == "unknown_field"
    assert sorted(refusal["details"]["unknown_fields"]) == ["salary_deduction", "stages[0].x"]
    assert "salary_deduction: is not a field of this request" in refusal["message"]
    assert sorted(problem["loc"] for problem in refusal["detail"]) == [
        ["body", "salary_deduction"],
        ["body", "stages", 0, "x"],
    ], "FastAPI's own list is kept for clients that read it"


async def test_other_invalid_bodies_name_their_field_too() -> None:
    response = await post({"stages": "none", "typo": 1})
    assert response.status_code == 422
    refusal = response.json()
    assert refusal["error"] == "invalid_request"
    assert sorted(p["field"] for p in refusal["details"]["problems"]) == ["name", "stages", "typo"]
    assert refusal["details"]["unknown_fields"] == ["typo"]
    assert "name: Field required" in refusal["message"]
