"""The trust list: the issuers whose tokens a deployment accepts, each with its public keys and
the one agency it speaks for.

Every agency signs its own tokens with its own private key; a service holds only public keys,
so no service, and no agency running one, can make a token for another agency. The list is a
JSON file (AUTH_TRUST_FILE):

    {"issuers": [
      {"issuer": "urn:jembatan:agency:kemnaker", "agency": "kemnaker",
       "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "...", "kid": "...",
                          "alg": "EdDSA"}]}},
      {"issuer": "https://sso.example.go.id/realms/x", "agency": "kaltim",
       "jwks_uri": "https://sso.example.go.id/realms/x/protocol/openid-connect/certs",
       "audience": "jembatan-kaltim"},
      {"issuer": "https://idp.example", "agency": "boyolali", "discovery": true}
    ]}

An issuer's keys are given inline (`jwks`, a JWK Set whose keys each name their `kid` and
`alg`), or fetched from its `jwks_uri`, or found through OpenID Connect discovery
(`{issuer}/.well-known/openid-configuration`). Optional per issuer: `audience` (default
AUTH_AUDIENCE), `algorithms` (default EdDSA and ES256; public-key algorithms only) and
`roles_claim` (default `roles`; a dotted path such as `realm_access.roles` reaches into an
object). A key rotates by listing the new one beside the old until the old one's tokens have
expired. A file that breaks any of this stops the service at start, naming what is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

import httpx
import jwt
from jwt import PyJWK, PyJWKClient
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .settings import AGENCY_CODE

log = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "ES384", "RS256", "PS256")
"""The algorithms an issuer may sign with: each checked with a public key that cannot sign."""
DEFAULT_ALGORITHMS = ("EdDSA", "ES256")
KEY_ALGORITHMS = {"OKP": ("EdDSA",), "EC": ("ES256", "ES384"), "RSA": ("RS256", "PS256")}
"""The algorithms each kind of key (`kty`) signs with."""
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
"""The members of a JWK that hold a private or secret key."""
THUMBPRINT_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
}
"""The members RFC 7638 hashes into a key's thumbprint."""
CLAIM_PATH = r"^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$"
"""A claim's name, or a dotted path to one inside objects (`realm_access.roles`)."""
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of a public key: the same for the same key, whatever its `kid`."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[str(jwk["kty"])]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def check_fetch_url(url: str, what: str) -> str:
    """`url` if keys may be fetched from it: https, or http to a provider on this machine (a
    key fetched over plain http from elsewhere could have been swapped on the way)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise ValueError(
        f"{what} {url!r} must be an https URL (plain http only for a provider on this machine):"
        " keys fetched over plain http could be swapped on the way"
    )


class KeySet(BaseModel):
    """A JWK Set as the trust list gives it inline."""

    model_config = ConfigDict(extra="allow", frozen=True)

    keys: list[dict[str, Any]] = Field(min_length=1)


class IssuerEntry(BaseModel):
    """One issuer of the trust list, as the file gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    agency: Annotated[str, StringConstraints(pattern=AGENCY_CODE)]
    jwks: KeySet | None = None
    jwks_uri: str | None = None
    discovery: bool = False
    audience: Annotated[str, StringConstraints(min_length=1)] | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    roles_claim: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$")
    ] = "roles"

    @field_validator("algorithms")
    @classmethod
    def _public_key_algorithms(cls, algorithms: tuple[str, ...]) -> tuple[str, ...]:
        if not algorithms:
            raise ValueError(f"name at least one algorithm ({', '.join(ASYMMETRIC_ALGORITHMS)})")
        for algorithm in algorithms:
            if algorithm.upper().startswith("HS"):
                raise ValueError(
                    f"{algorithm} is a shared-secret algorithm: whoever can check such a token"
                    " can also make one, so a trust list names only public-key algorithms"
                    f" ({', '.join(ASYMMETRIC_ALGORITHMS)})"
                )
            if algorithm not in ASYMMETRIC_ALGORITHMS:
                raise ValueError(
                    f"{algorithm!r} is not an algorithm issuers may sign with; choose among"
                    f" {', '.join(ASYMMETRIC_ALGORITHMS)}"
                )
        return algorithms

    @model_validator(mode="after")
    def _one_source_of_keys(self) -> IssuerEntry:
        sources = [
            name
            for name, given in (
                ("jwks", self.jwks is not None),
                ("jwks_uri", self.jwks_uri is not None),
                ("discovery", self.discovery),
            )
            if given
        ]
        if len(sources) != 1:
            given = f"it gives {' and '.join(sources)}" if sources else "it gives none"
            raise ValueError(
                "give the issuer's keys one way: inline ('jwks'), from a URL ('jwks_uri'), or"
                f" through OpenID Connect discovery ('discovery': true); {given}"
            )
        if self.jwks_uri is not None:
            check_fetch_url(self.jwks_uri, "jwks_uri")
        if self.discovery:
            check_fetch_url(self.issuer, "with discovery, the issuer")
        if self.jwks is not None:
            kids: set[str] = set()
            for index, key in enumerate(self.jwks.keys):
                kid = self._check_key(index, key)
                if kid in kids:
                    raise ValueError(f"two keys are named '{kid}' (kid); each needs its own")
                kids.add(kid)
        return self

    def _check_key(self, index: int, key: dict[str, Any]) -> str:
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValueError(
                f"jwks.keys[{index}] has no 'kid': a token names the key it was signed with by"
                " its kid, so every key needs one"
            )
        kty = key.get("kty")
        if kty == "oct" or any(member in key for member in PRIVATE_MEMBERS):
            held = [member for member in PRIVATE_MEMBERS if member in key]
            raise ValueError(
                f"key '{kid}' holds a private or secret part ({', '.join(held) or 'kty oct'}):"
                " the trust list carries public keys only, every service reads it; keep the"
                " private key with its issuer alone"
            )
        if kty not in KEY_ALGORITHMS:
            raise ValueError(
                f"key '{kid}' is of kind (kty) {kty!r}; a trust list holds OKP, EC or RSA keys"
            )
        alg = key.get("alg")
        if alg not in self.algorithms:
            raise ValueError(
                f"key '{kid}' names algorithm (alg) {alg!r}; each key names one, among the"
                f" issuer's algorithms ({', '.join(self.algorithms)}; 'algorithms' adds others)"
            )
        if alg not in KEY_ALGORITHMS[kty]:
            raise ValueError(f"key '{kid}' is an {kty} key, which does not sign with {alg}")
        if key.get("use", "sig") != "sig":
            raise ValueError(f"key '{kid}' is for use {key.get('use')!r}, not for signatures")
        try:
            PyJWK(key)
        except jwt.PyJWTError as exc:
            raise ValueError(f"key '{kid}' is not a usable {alg} public key: {exc}") from None
        return kid


class TrustDocument(BaseModel):
    """The trust list file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuers: list[IssuerEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_issuer_and_key_once(self) -> TrustDocument:
        names: set[str] = set()
        owners: dict[str, str] = {}
        for entry in self.issuers:
            if entry.issuer in names:
                raise ValueError(
                    f"issuer '{entry.issuer}' is listed twice; list it once, with all its keys"
                )
            names.add(entry.issuer)
            for key in entry.jwks.keys if entry.jwks else ():
                owner = owners.setdefault(thumbprint(key), entry.issuer)
                if owner != entry.issuer:
                    raise ValueError(
                        f"key '{key['kid']}' of issuer '{entry.issuer}' is also a key of issuer"
                        f" '{owner}': a key speaks for one issuer, and so for one agency"
                    )
        return self


class TrustListInvalid(ValueError):
    """A trust list that cannot be used; the message says what is wrong, and where."""


class PublicKey:
    """One public key of an issuer, as a JWK, and the PyJWT key for each algorithm it signs
    with (its own `alg`, or when a provider's JWKS leaves that out, those of its kind)."""

    def __init__(self, jwk: Mapping[str, Any]) -> None:
        self.jwk = dict(jwk)
        self.kid = str(jwk["kid"])
        self.declared_algorithm: str | None = jwk.get("alg")
        self.algorithms = (
            (self.declared_algorithm,)
            if self.declared_algorithm
            else KEY_ALGORITHMS.get(str(jwk.get("kty")), ())
        )
        self._by_algorithm: dict[str, PyJWK] = {}

    def for_algorithm(self, algorithm: str) -> PyJWK | None:
        """The key to check a token signed with `algorithm`, if this key signs with it."""
        if algorithm not in self.algorithms:
            return None
        if algorithm not in self._by_algorithm:
            try:
                self._by_algorithm[algorithm] = PyJWK(self.jwk, algorithm)
            except jwt.PyJWTError:
                return None
        return self._by_algorithm[algorithm]


class KeySource(Protocol):
    """Where an issuer's public keys come from."""

    problem: str | None
    """Why the keys could not be fetched last time (None: they could, or need no fetching)."""

    def key(self, kid: str) -> PublicKey | None:
        """The key named `kid`, as last known; never waits for the network."""

    def fetch_for(self, kid: str) -> Callable[[], None] | None:
        """What to run (blocking, so in a thread) before looking `kid` up: a fetch of the keys,
        when `kid` is not known or the keys are old, and the last fetch is not too recent."""


class InlineKeys:
    """Keys the trust list gives inline."""

    problem: str | None = None

    def __init__(self, keys: Iterable[Mapping[str, Any]]) -> None:
        self._keys = {str(key["kid"]): PublicKey(key) for key in keys}

    def key(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)

    def fetch_for(self, kid: str) -> None:
        return None


class RemoteKeys:
    """The keys an issuer publishes (its JWKS, at `jwks_uri` or found by discovery), fetched
    when first needed, again when a token names a key not seen yet (at most once every
    `refetch_interval_s`, however many such tokens arrive) and once they are older than
    `max_age_s`. Keys fetched before keep serving while the issuer cannot be reached."""

    def __init__(
        self,
        entry: IssuerEntry,
        refetch_interval_s: float = 30.0,
        max_age_s: float = 300.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.issuer = entry.issuer
        self.jwks_uri = entry.jwks_uri
        self.discovery = entry.discovery
        self.refetch_interval_s = refetch_interval_s
        self.max_age_s = max_age_s
        self.timeout_s = timeout_s
        self.problem: str | None = None
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)

    def fetch_for(self, kid: str) -> Callable[[], None] | None:
        now = time.monotonic()
        fresh = self._fetched_at is not None and now - self._fetched_at < self.max_age_s
        if fresh and kid in self._keys:
            return None
        if self._tried_at is not None and now - self._tried_at < self.refetch_interval_s:
            return None
        return self.fetch

    def fetch(self) -> None:
        """Fetch the keys now (blocking), unless another caller just did."""
        with self._lock:
            now = time.monotonic()
            if self._tried_at is not None and now - self._tried_at < self.refetch_interval_s:
                return
            self._tried_at = now
            try:
                uri = self.jwks_uri if self.jwks_uri is not None else self._discover()
                keys = published_keys(
                    PyJWKClient(uri, cache_jwk_set=False, timeout=self.timeout_s).fetch_data()
                )
            except (jwt.PyJWTError, httpx.HTTPError, ValueError) as exc:
                self.problem = f"the keys of issuer '{self.issuer}' could not be fetched: {exc}"
                log.warning("%s", self.problem)
                return
            self._keys = keys
            self._fetched_at = time.monotonic()
            self.problem = None
            log.info("fetched %d keys of issuer %s", len(keys), self.issuer)

    def _discover(self) -> str:
        """The `jwks_uri` of the issuer's OpenID Connect discovery document."""
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        response = httpx.get(url, timeout=self.timeout_s)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            named = document.get("issuer") if isinstance(document, dict) else None
            raise ValueError(f"the discovery document at {url} is for issuer {named!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError(f"the discovery document at {url} names no jwks_uri")
        self.jwks_uri = check_fetch_url(jwks_uri, "the discovered jwks_uri")
        return self.jwks_uri


def published_keys(document: Any) -> dict[str, PublicKey]:
    """The signing keys of a JWKS an issuer publishes, by kid. Keys without a kid, for another
    use, symmetric or carrying private parts are left out: none of them may check a token."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("the JWKS has no 'keys' list")
    usable: dict[str, PublicKey] = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("kty") not in KEY_ALGORITHMS or jwk.get("use", "sig") != "sig":
            continue
        if any(member in jwk for member in PRIVATE_MEMBERS):
            continue
        usable[jwk["kid"]] = PublicKey(jwk)
    return usable


class TrustedIssuer:
    """One issuer of a trust list, with its keys. Compared by identity: the cache of verified
    tokens keys on it, so a reloaded list checks each token afresh."""

    def __init__(self, entry: IssuerEntry, keys: KeySource) -> None:
        self.entry = entry
        self.name = entry.issuer
        self.agency = entry.agency
        self.audience = entry.audience
        self.algorithms = frozenset(entry.algorithms)
        self.roles_claim = entry.roles_claim
        self.keys = keys

    def __repr__(self) -> str:
        return f"TrustedIssuer({self.name!r}, agency={self.agency!r})"


class TrustList:
    """The issuers a service accepts tokens of, by their `iss`."""

    def __init__(
        self,
        entries: Iterable[IssuerEntry],
        *,
        refetch_interval_s: float = 30.0,
        keys_max_age_s: float = 300.0,
        fetch_timeout_s: float = 5.0,
    ) -> None:
        self.issuers: dict[str, TrustedIssuer] = {}
        for entry in entries:
            keys: KeySource = (
                InlineKeys(entry.jwks.keys)
                if entry.jwks is not None
                else RemoteKeys(entry, refetch_interval_s, keys_max_age_s, fetch_timeout_s)
            )
            self.issuers[entry.issuer] = TrustedIssuer(entry, keys)

    @classmethod
    def from_document(
        cls, document: Any, origin: str = "the trust list", **options: float
    ) -> TrustList:
        """The trust list a parsed JSON document gives; TrustListInvalid if it breaks a rule."""
        try:
            parsed = TrustDocument.model_validate(document)
        except ValidationError as exc:
            raise TrustListInvalid(f"{origin} is not valid:\n{_describe(exc, document)}") from None
        return cls(parsed.issuers, **options)

    @classmethod
    def load(cls, path: Path, **options: float) -> TrustList:
        """The trust list in the JSON file at `path` (AUTH_TRUST_FILE)."""
        origin = f"the trust list {path} (AUTH_TRUST_FILE)"
        try:
            document = json.loads(path.read_text())
        except OSError as exc:
            raise TrustListInvalid(f"{origin} cannot be read: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise TrustListInvalid(f"{origin} is not JSON: {exc}") from None
        return cls.from_document(document, origin, **options)

    def issuer(self, name: str) -> TrustedIssuer | None:
        return self.issuers.get(name)

    @property
    def agencies(self) -> frozenset[str]:
        return frozenset(issuer.agency for issuer in self.issuers.values())


def _describe(exc: ValidationError, document: Any) -> str:
    """Each error of a trust list as a line naming where it is (`issuers[1] 'https://idp'`)."""
    lines = []
    for error in exc.errors():
        where = ""
        for part in error["loc"]:
            where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
        name = _issuer_named_at(document, error["loc"])
        if name:
            where = where.replace("]", f"] (issuer '{name}')", 1)
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  {where}: {message}" if where else f"  {message}")
    return "\n".join(lines)


def _issuer_named_at(document: Any, loc: tuple[int | str, ...]) -> str | None:
    if len(loc) < 2 or loc[0] != "issuers" or not isinstance(loc[1], int):
        return None
    try:
        name = document["issuers"][loc[1]]["issuer"]
    except (KeyError, IndexError, TypeError):
        return None
    return name if isinstance(name, str) else None
