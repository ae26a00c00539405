"""The console's settings, from environment variables (`CONSOLE_AGENCY`, ...). `jembatan up`
sets them for the embedded default; a deployment sets them for its agency."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jembatan_kit.settings import AGENCY_CODE

DEFAULT_SERVICE_URLS = {
    "registration": "http://127.0.0.1:8001",
    "training": "http://127.0.0.1:8002",
    "placement": "http://127.0.0.1:8003",
    "financing": "http://127.0.0.1:8004",
}


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8007
    log_level: str = "INFO"
    console_agency: str = Field(
        default="kaltim",
        pattern=AGENCY_CODE,
        description="The one agency this console serves: its operators sign in to it, and every"
        " call to the services is made with a token of this agency's issuer.",
    )
    console_issuer_file: Path = Field(
        default=Path("var/issuers/kaltim.json"),
        description="The agency's issuer file (private key) the console signs its operators'"
        " short-lived tokens with (`jembatan up` keeps one per agency in var/issuers/). Not"
        " read when operators sign in with the agency's OpenID Connect provider.",
    )
    console_oidc_issuer: str = Field(
        default="",
        description="The agency's OpenID Connect provider (its issuer URL, as in the trust"
        " list). Set, operators sign in there (authorization code flow with PKCE), the console"
        " calls the services with the provider's access token, and holds no key and no"
        " passwords. Empty: the local operators' sign-in with the agency's issuer file.",
    )
    console_oidc_client_id: str = Field(
        default="jembatan-console",
        description="The console's client id at the provider.",
    )
    console_oidc_client_secret_file: Path | None = Field(
        default=None,
        description="A file holding the client's secret, for a confidential client"
        " (client_secret_basic); none for a public client, which PKCE alone protects.",
    )
    console_oidc_scopes: str = Field(
        default="openid profile",
        description="The scopes asked of the provider (openid at least).",
    )
    console_oidc_redirect_url: str = Field(
        default="",
        description="The console's callback as the provider knows it"
        " (https://console.example/login/oidc/callback); empty: from the request, for a"
        " console reached directly.",
    )
    auth_trust_file: Path | None = Field(
        default=None,
        description="The trust list (AUTH_TRUST_FILE): with a provider, the console checks"
        " each access token against it as the services do, and reads the roles where its"
        " entry's roles_claim says.",
    )
    console_operators_file: Path = Field(
        default=Path("var/console-operators.json"),
        description="The agency's operators: logins, Argon2id password hashes, roles"
        " (`jembatan operator add`).",
    )
    console_secret_file: Path = Field(
        default=Path("var/console-secret"),
        description="The key signing the console's session cookies and the participants'"
        " statement links; made at first start when missing (0600).",
    )
    console_token_minutes: int = Field(
        default=60,
        ge=1,
        le=720,
        description="How long an operator's token (and so a sign-in) lasts.",
    )
    console_statement_link_days: int = Field(
        default=30, ge=1, le=365, description="How long a participant's statement link works."
    )
    console_secure_cookies: bool = Field(
        default=False,
        description="Mark cookies Secure (true behind https; the embedded default is plain http"
        " on 127.0.0.1).",
    )
    console_trace_url: str | None = Field(
        default=None,
        description="A trace viewer's search for a journey's spans, linked from each event of"
        " the journey page: `{journey_id}` (the spans' `jembatan.journey_id`), `{start_us}` and"
        " `{end_us}` (the event's time, give or take five minutes, in microseconds). Unset:"
        " the page names `jembatan trace`.",
    )
    service_urls: dict[str, str] = Field(
        default=DEFAULT_SERVICE_URLS,
        description="Where each service's API lives (SERVICE_URLS, JSON).",
    )
    auth_audience: str = "jembatan"
