"""The console holds no data: every page is made from the services' public HTTP APIs, called
with the signed-in operator's own token, so each service applies its own rules and scope to the
operator as it would to a curl command. A refusal comes back as `Refusal`, carrying the rule's
name and the service's own words; a service that cannot be reached as `Refusal` too
(`service_unreachable`), so a page always says what happened, never a 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

TIMEOUT_S = 15.0


@dataclass
class Refusal(Exception):
    """A service said no (4xx), could not answer (5xx), or could not be reached."""

    service: str
    status: int
    rule: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def signed_out(self) -> bool:
        """The token was refused (expired, revoked): the operator signs in again."""
        return self.status == 401

    def __str__(self) -> str:
        return f"{self.service}: {self.rule}: {self.message}"


class Backend:
    """The four services, as the operator holding `token` may call them."""

    def __init__(
        self, urls: dict[str, str], token: str, client: httpx.AsyncClient | None = None
    ) -> None:
        self.urls = urls
        self.token = token
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_S)

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """The service's answer (JSON), or a `Refusal`."""
        if service not in self.urls:  # a deployment's agency runs no such service
            raise Refusal(
                service,
                503,
                "service_not_here",
                f"This console's agency runs no {service} service (SERVICE_URLS); its records are"
                " kept by the agencies that run one.",
            )
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = await self.client.request(
                method,
                f"{self.urls[service].rstrip('/')}{path}",
                json=json,
                params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                content=content,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise Refusal(
                service,
                503,
                "service_unreachable",
                f"{service} cannot be reached now ({type(exc).__name__}); nothing was changed"
                " there. Try again shortly.",
            ) from None
        if response.status_code < 400:
            return response.json() if response.content else None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        details = body.get("details")
        raise Refusal(
            service,
            response.status_code,
            str(body.get("error") or f"http_{response.status_code}"),
            str(body.get("message") or response.reason_phrase),
            details if isinstance(details, dict) else {},
        )

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.call(service, "GET", path, params=params)

    async def post(self, service: str, path: str, body: Any) -> Any:
        return await self.call(service, "POST", path, json=body)

    async def maybe(self, service: str, path: str, **params: Any) -> Any | None:
        """The record, or None while it does not exist (yet: its event may be on the way)."""
        try:
            return await self.get(service, path, **params)
        except Refusal as refusal:
            if refusal.not_found:
                return None
            raise
