"""Settings every service reads from its environment, with embedded defaults."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

AGENCY_CODE = r"^[a-z][a-z0-9-]{1,31}$"
"""What an agency's code looks like (the `agency` setting, a token's `agency` claim)."""

SHIPPED_AGENCIES = ("kemnaker", "kaltim", "boyolali", "kota-serang")
"""The agencies the project ships: Kemnaker and the provinces and districts of the multi-agency
topology (deploy/nats/topology.py), the scenarios and the dashboard's targets."""


class ServiceSettings(BaseSettings):
    """Common settings. Each service subclasses this and sets its own defaults.

    Read from plain environment variables (`DATABASE_URL`, `NATS_URL`, `HTTP_PORT`, ...), so the
    same names work for every service in its own process or container.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "jembatan"
    agency: str = Field(
        default="kemnaker",
        pattern=r"^[a-z][a-z0-9-]{1,31}$",
        description="The agency that runs this instance of the service.",
    )
    database_url: str = "sqlite+aiosqlite:///./var/jembatan.db"
    nats_url: str = "nats://127.0.0.1:14222"
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    consumer_batch_size: int = Field(
        default=250,
        ge=1,
        le=1000,
        description="Messages a consumer fetches and handles in one transaction"
        " (CONSUMER_BATCH_SIZE): a transaction, an inbox query and a round of acks a batch.",
    )
    consumer_batch_timeout_s: float = Field(
        default=0.25,
        gt=0,
        description="How long an idle consumer's request for messages waits at the server before"
        " it asks again (CONSUMER_BATCH_TIMEOUT_S). A batch is handled as soon as it holds what"
        " the server had (a backlog in full batches), never waiting for this to pass; it sets"
        " how often twenty idle consumers ask the server.",
    )
    consumer_max_deliver: int = Field(default=8, ge=2)
    consumer_ack_wait_s: float = Field(
        default=5.0,
        ge=1,
        description="How long the server waits for a consumer's ack before redelivering"
        " (CONSUMER_ACK_WAIT_S): what a crashed consumer's in-flight batch waits. A live"
        " consumer tells the server every third of it that a slower batch is in progress.",
    )
    outbox_poll_interval_s: float = Field(default=0.5, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_relay_process: bool = Field(
        default=False,
        description="Run the outbox relay in a process of its own, woken through a pipe after"
        " each commit (jembatan_kit.relay_process): for a service whose consumers stage an"
        " event for each they handle, so that publishing them does not take from its loop.",
    )

    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Copies of each stream the JetStream cluster keeps (STREAM_REPLICAS): 1 on"
        " the embedded single server, 3 on the clustered hub, so losing one node loses nothing.",
    )
    stream_max_age_days: float = Field(
        default=400.0,
        gt=0,
        description="How long a stream keeps an event (STREAM_MAX_AGE_DAYS): a programme year"
        " and a month, because the dashboard's rebuild reads its per-year figures back from the"
        " streams. A consumer further behind than this loses events, so inbox rows are kept at"
        " least this long.",
    )
    outbox_retention_days: float = Field(
        default=14.0,
        gt=0,
        description="How long a sent outbox row is kept (OUTBOX_RETENTION_DAYS): the window in"
        " which `jembatan outbox resend` can send again what the bus lost.",
    )

    ensure_streams: Literal["all", "own"] = Field(
        default="all",
        description="Streams this service creates or updates at start (ENSURE_STREAMS): every"
        " stream (a service alone on a server without users, as in the kit's tests); or only"
        " its own and DEADLETTER where each service user may touch nothing else (`jembatan up`"
        " and the multi-agency deployment), the streams it consumes being created by their"
        " owners or by an operator (`ops`, which `jembatan up` uses to create them first).",
    )
    clock_adjustable: bool = Field(
        default=False,
        description="Allow moving this service's clock through the API (demos and tests only).",
    )
    clock_state_file: Path | None = Field(
        default=None,
        description="Where an adjustable clock keeps how far it was moved (CLOCK_STATE_FILE), so"
        " a restarted service takes up the moved time instead of falling back to real time."
        " `jembatan up` gives each service one in its data folder; unset, a restart resets it.",
    )
    database_busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a SQLite statement waits for another process's write lock before"
        " the database counts as unavailable (DATABASE_BUSY_TIMEOUT_S): HTTP then answers 503.",
    )
    http_retry_after_s: int = Field(
        default=5,
        ge=1,
        description="The Retry-After of a 503 answered while a resource the service needs (its"
        " database) is unavailable (HTTP_RETRY_AFTER_S).",
    )
    auth_trust_file: Path | None = Field(
        default=None,
        description="The trust list (AUTH_TRUST_FILE): a JSON file naming the issuers whose"
        " tokens this service accepts, each with its public keys (or where it publishes them)"
        " and the one agency it speaks for (`jembatan_kit.trust`). `jembatan up` writes one"
        " into its data folder from its agencies' keys. Unset, the service refuses every"
        " caller (503) until it is given one.",
    )
    known_agencies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=SHIPPED_AGENCIES,
        description="The agencies whose tokens this deployment accepts (KNOWN_AGENCIES, codes"
        " separated by commas), besides the service's own AGENCY. A token for any other agency"
        " is refused, whoever signed it. A deployment that adds an agency sets the whole list,"
        " e.g. KNOWN_AGENCIES=kemnaker,kaltim,boyolali,kota-serang,jabar, in every service's"
        " environment and in that of `jembatan token`.",
    )
    auth_audience: str = Field(
        default="jembatan",
        min_length=1,
        description="The audience (`aud`) a token must name to be accepted here (AUTH_AUDIENCE).",
    )
    auth_max_token_hours: float = Field(
        default=12.0,
        gt=0,
        le=24 * 31,
        description="The longest a token may be valid, `exp` minus `iat`, in hours"
        " (AUTH_MAX_TOKEN_HOURS): a longer one is refused even before it expires, and"
        " `jembatan token` issues none longer. A working day and a half by default.",
    )
    revocations_js_domain: str | None = Field(
        default=None,
        pattern=AGENCY_CODE,
        description="The JetStream domain holding the revocation bucket, when it is not this"
        " service's own server (REVOCATIONS_JS_DOMAIN): `kemnaker` for a province's services,"
        " which read the hub's bucket across their leaf connection. Unset: the service's own.",
    )
    revocations_poll_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a service reads the revocations written since it last looked"
        " (REVOCATIONS_POLL_S): a revoked token is refused at most this long, plus a round trip,"
        " after `jembatan revoke`.",
    )
    revocations_reload_s: float = Field(
        default=60.0,
        gt=0,
        description="How often a service reads the whole revocation list again"
        " (REVOCATIONS_RELOAD_S), whatever it has read since: a bucket an operator recreated is"
        " taken in whole.",
    )
    revocations_snapshot_file: Path | None = Field(
        default=None,
        description="Where the service keeps the revocation list it read, to serve with after a"
        " restart while the bucket does not answer (REVOCATIONS_SNAPSHOT_FILE): written after"
        " each read that changed it and at least every REVOCATIONS_RELOAD_S, mode 0600."
        " `jembatan up` gives each service one in its data folder. Unset, a service restarted"
        " while NATS (or the hub link) is down refuses every authenticated request (503).",
    )
    revocations_snapshot_max_age_h: float | None = Field(
        default=None,
        gt=0,
        description="The oldest revocation snapshot a restarted service serves with, in hours"
        " (REVOCATIONS_SNAPSHOT_MAX_AGE_H); an older one is not used, and the service refuses"
        " every authenticated request until the bucket answers. Unset, and never more than,"
        " AUTH_MAX_TOKEN_HOURS: a list older than the longest a token lives refuses no token"
        " still valid, so serving with it would be serving with no list at all.",
    )
    log_level: str = "INFO"

    @property
    def revocations_snapshot_max_age(self) -> timedelta:
        hours = min(
            self.revocations_snapshot_max_age_h or self.auth_max_token_hours,
            self.auth_max_token_hours,
        )
        return timedelta(hours=hours)

    @field_validator("known_agencies", mode="before")
    @classmethod
    def _agency_codes(cls, value: object) -> object:
        """KNOWN_AGENCIES as `a,b,c` (or a list given in code); every code well formed."""
        codes = [c for c in re.split(r"[\s,]+", value) if c] if isinstance(value, str) else value
        if isinstance(codes, list | tuple):
            for code in codes:
                if not isinstance(code, str) or not re.fullmatch(AGENCY_CODE, code):
                    raise ValueError(
                        f"KNOWN_AGENCIES: {code!r} is not an agency code (lower case letters,"
                        " digits and '-', 2 to 32 characters, e.g. kota-serang)"
                    )
            return tuple(codes)
        return value
