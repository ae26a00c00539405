"""The national identity index as registration sees it: `NationalIndex`, which the handlers call,
and `NatsNationalIndex`, which asks the index at the hub over NATS request-reply
(`jembatan_contracts.identity`), sealing each NIK to the index's public key first. While the
index cannot be asked (the link to the hub down: "no responders" at once; or no answer in time),
each call answers None, and the handlers accept registrations as provisional."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

import nats
import nats.errors
from nacl.public import PublicKey
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel, ValidationError

from jembatan_contracts.identity import (
    MAX_CLAIMS_PER_REQUEST,
    Claim,
    ClaimsReply,
    ClaimsRequest,
    NoticesReply,
    NoticesRequest,
    ReleasesReply,
    ReleasesRequest,
    Standing,
    identity_subject,
)
from jembatan_kit.broker import nats_servers
from jembatan_kit.sealed_nik import seal_nik

log = logging.getLogger(__name__)

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Person:
    """A registration as the index is told of it (its NIK sealed on the way)."""

    candidate_id: uuid.UUID
    agency: str
    nik: str
    registered_at: datetime


class IndexUnavailable(Exception):
    """The index could not be asked, or did not answer in time."""


class NationalIndex(abc.ABC):
    @abc.abstractmethod
    async def claim(
        self, mode: Literal["check", "record"], people: Sequence[Person]
    ) -> list[Standing]:
        """Each person's standing, in order (`ClaimsRequest`); raises IndexUnavailable."""

    @abc.abstractmethod
    async def release(self, candidate_ids: Sequence[uuid.UUID]) -> None:
        """The withdrawn candidates released; raises IndexUnavailable."""

    @abc.abstractmethod
    async def notices(self, after: int, epoch: str | None) -> NoticesReply:
        """The index's notices of this agency's candidates; raises IndexUnavailable."""


class NatsNationalIndex(NationalIndex):
    def __init__(
        self, nats_url: str, agency: str, public_key: PublicKey, timeout_s: float = 2.0
    ) -> None:
        self.nats_url = nats_url
        self.agency = agency
        self.public_key = public_key
        self.timeout_s = timeout_s
        self._client: NatsClient | None = None
        self._connected = asyncio.Event()

    async def connect(self) -> None:
        """Connect for as long as it takes; reconnects by itself after."""
        while self._client is None:
            try:
                self._client = await nats.connect(
                    nats_servers(self.nats_url),
                    name="registration-identity",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                )
                self._connected.set()
            except Exception as problem:
                log.warning("identity index client not connected (%s); retrying", problem)
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def _ask(
        self,
        what: Literal["claims", "releases", "notices"],
        body: BaseModel,
        reply_type: type[R],
    ) -> R:
        if self._client is None:  # the service is starting: wait for the first connection
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), self.timeout_s)
        client = self._client
        if client is None or not client.is_connected:
            raise IndexUnavailable("not connected to NATS")
        try:
            message = await client.request(
                identity_subject(self.agency, what),
                body.model_dump_json().encode(),
                timeout=self.timeout_s,
            )
        except nats.errors.NoRespondersError:
            raise IndexUnavailable("no responders: the hub is out of reach") from None
        except (nats.errors.TimeoutError, nats.errors.Error) as problem:
            raise IndexUnavailable(f"no answer: {type(problem).__name__}") from None
        try:
            reply = reply_type.model_validate_json(message.data)
        except ValidationError:
            raise IndexUnavailable("the index answered something unreadable") from None
        error = getattr(reply, "error", None)
        if error:
            raise IndexUnavailable(f"the index refused the request: {error}")
        return reply

    async def claim(
        self, mode: Literal["check", "record"], people: Sequence[Person]
    ) -> list[Standing]:
        standings: list[Standing] = []
        for start in range(0, len(people), MAX_CLAIMS_PER_REQUEST):
            chunk = people[start : start + MAX_CLAIMS_PER_REQUEST]
            request = ClaimsRequest(
                mode=mode,
                claims=[
                    Claim(
                        candidate_id=person.candidate_id,
                        agency=person.agency,
                        sealed_nik=seal_nik(person.nik, self.public_key),
                        registered_at=person.registered_at,
                    )
                    for person in chunk
                ],
            )
            reply = await self._ask("claims", request, ClaimsReply)
            if len(reply.answers) != len(chunk):
                raise IndexUnavailable("the index answered another number of claims")
            standings += [answer.standing for answer in reply.answers]
        return standings

    async def release(self, candidate_ids: Sequence[uuid.UUID]) -> None:
        for start in range(0, len(candidate_ids), MAX_CLAIMS_PER_REQUEST):
            chunk = list(candidate_ids[start : start + MAX_CLAIMS_PER_REQUEST])
            await self._ask("releases", ReleasesRequest(candidate_ids=chunk), ReleasesReply)

    async def notices(self, after: int, epoch: str | None) -> NoticesReply:
        return await self._ask("notices", NoticesRequest(after=after, epoch=epoch), NoticesReply)
