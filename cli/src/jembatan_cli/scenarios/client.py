"""The services' public HTTP APIs as a scenario uses them: every call carries a bearer token for
the agency doing the step, and a failure says what to do next."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx

from jembatan_kit.issuers import LocalIssuer, issue_token

SERVICES_USED = ("registration", "training", "placement", "financing")
PAGE = 500


class ScenarioError(Exception):
    """A scenario cannot go on; the message says why and what to do."""


class SystemNotRunning(ScenarioError):
    pass


class ApiError(ScenarioError):
    def __init__(self, service: str, response: httpx.Response) -> None:
        self.service = service
        self.status_code = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:500]}
        self.body = body if isinstance(body, dict) else {"message": str(body)}
        self.rule = str(self.body.get("error", ""))
        message = self.body.get("message") or self.body.get("detail") or self.body
        request = response.request
        super().__init__(
            f"{service} refused {request.method} {request.url.path} ({response.status_code}): "
            f"{message}. {_next_step(response.status_code)}"
        )


def _next_step(status: int) -> str:
    if status == 401:
        return (
            "The token was not accepted: give --data-dir of the running `jembatan up` (its"
            " agencies' keys are in <data-dir>/issuers/)."
        )
    if status == 403:
        return "The scenario's agency may not do this step; check the token's agency and roles."
    if status >= 500:
        return "See the service's log (var/logs/<service>.log)."
    return "The services' rules changed or the data is not what the scenario expects."


class Services:
    """HTTP clients for the four services, and tokens for each agency taking part, each signed
    by the agency's issuer in `issuers`."""

    def __init__(
        self,
        urls: Mapping[str, str],
        issuers: Mapping[str, LocalIssuer],
        user: str,
        concurrency: int = 6,
        timeout_s: float = 60.0,
    ) -> None:
        missing = [name for name in SERVICES_USED if name not in urls]
        if missing:
            raise ScenarioError(f"no address given for {', '.join(missing)}")
        self.urls = {name: urls[name].rstrip("/") for name in SERVICES_USED}
        self._issuers = issuers
        self._user = user
        self._tokens: dict[str, str] = {}
        self._http = httpx.AsyncClient(timeout=timeout_s)
        self._slots = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        await self._http.aclose()

    def _token(self, agency: str) -> str:
        """A token of `agency`, signed with the agency's own key."""
        if agency not in self._tokens:
            if agency not in self._issuers:
                raise ScenarioError(
                    f"no signing key of agency {agency} is at hand (keys of:"
                    f" {', '.join(sorted(self._issuers)) or 'none'}); give --data-dir of the"
                    " `jembatan up` whose agencies include it"
                )
            self._tokens[agency] = issue_token(
                self._issuers[agency], self._user, [], timedelta(hours=2)
            )
        return self._tokens[agency]

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        agency: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        csv: str | None = None,
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {self._token(agency)}"}
        content = None
        if csv is not None:
            headers["content-type"] = "text/csv"
            content = csv.encode()
        url = f"{self.urls[service]}{path}"
        async with self._slots:
            try:
                return await self._http.request(
                    method, url, json=json, params=params, content=content, headers=headers
                )
            except httpx.ConnectError as exc:
                raise SystemNotRunning(
                    f"{service} does not answer at {self.urls[service]}: the system is not "
                    "running; start it with ./dev run (or `jembatan up`) and try again"
                ) from exc
            except httpx.TimeoutException as exc:
                raise ScenarioError(
                    f"{service} did not answer {method} {path} within the timeout; the machine "
                    "may be overloaded: try a smaller --scale, or see `jembatan health`"
                ) from exc

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        agency: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        csv: str | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        response = await self.request(
            service, method, path, agency, json=json, params=params, csv=csv
        )
        if response.status_code not in expect:
            raise ApiError(service, response)
        return response.json()

    async def pages(
        self, service: str, path: str, agency: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (limit/offset)."""
        found: list[dict[str, Any]] = []
        while True:
            page = await self.call(
                service,
                "GET",
                path,
                agency,
                params={**(params or {}), "limit": PAGE, "offset": len(found)},
            )
            found += page
            if len(page) < PAGE:
                return found


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    timeout_s: float,
    interval_s: float = 0.25,
) -> None:
    """Poll `check` until it holds; an event's effect shows up in another service's API."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            raise ScenarioError(
                f"{what} did not happen within {timeout_s:.0f} s. Check `jembatan health` "
                "(consumers' pending messages, dead letters) and the services' logs "
                "(var/logs/)."
            )
        await asyncio.sleep(interval_s)
