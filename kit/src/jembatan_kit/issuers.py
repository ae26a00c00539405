"""An agency's own token issuer: its private signing key, kept by the agency alone, and the
tokens it signs. The public half goes into every service's trust list (`trust_list_of`).

An issuer file (`<data-dir>/issuers/<agency>.json` of `jembatan up`, 0600) holds

    {"issuer": "urn:jembatan:agency:kaltim", "agency": "kaltim",
     "key": {"kty": "OKP", "crv": "Ed25519", "x": "...", "d": "...", "kid": "...", "alg": "EdDSA"}}

A generated key is Ed25519 (EdDSA); its kid is its RFC 7638 thumbprint.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator

from .auth import AUDIENCE
from .settings import AGENCY_CODE
from .trust import ASYMMETRIC_ALGORITHMS, KEY_ALGORITHMS, PRIVATE_MEMBERS, thumbprint

PUBLIC_MEMBERS = {
    "OKP": ("kty", "crv", "x"),
    "EC": ("kty", "crv", "x", "y"),
    "RSA": ("kty", "n", "e"),
}


def local_issuer_name(agency: str) -> str:
    """The issuer (`iss`) of an agency's own key: `urn:jembatan:agency:<agency>`."""
    return f"urn:jembatan:agency:{agency}"


class IssuerFileInvalid(ValueError):
    """An issuer file that cannot sign; the message says why."""


class _IssuerFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    agency: Annotated[str, StringConstraints(pattern=AGENCY_CODE)]
    key: dict[str, Any]

    @field_validator("key")
    @classmethod
    def _private_signing_key(cls, key: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(key.get("kid"), str) or not key["kid"]:
            raise ValueError("the key has no 'kid'")
        kty, alg = key.get("kty"), key.get("alg")
        if kty not in KEY_ALGORITHMS or alg not in ASYMMETRIC_ALGORITHMS:
            raise ValueError(
                f"the key is {kty!r} for {alg!r}; an issuer signs with a private OKP, EC or RSA"
                f" key for one of {', '.join(ASYMMETRIC_ALGORITHMS)}"
            )
        if alg not in KEY_ALGORITHMS[kty]:
            raise ValueError(f"an {kty} key does not sign with {alg}")
        if "d" not in key:
            raise ValueError("the key has no private part ('d'), so it cannot sign")
        return key


@dataclass(frozen=True, eq=False)
class LocalIssuer:
    """An issuer whose private key is at hand: it signs tokens for its one agency."""

    issuer: str
    agency: str
    key: Mapping[str, Any]
    """The private JWK, with its `kid` and `alg`."""

    def __post_init__(self) -> None:
        self.signing_key  # noqa: B018 (a key that does not load is refused here, not at first use)

    @classmethod
    def generate(cls, agency: str, issuer: str | None = None) -> LocalIssuer:
        """A new issuer for `agency` with a fresh Ed25519 key."""
        jwk: dict[str, Any] = OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate(), as_dict=True)
        jwk |= {"kid": thumbprint(jwk), "alg": "EdDSA"}
        return cls(issuer or local_issuer_name(agency), agency, jwk)

    @classmethod
    def from_document(cls, document: Any, origin: str = "the issuer file") -> LocalIssuer:
        try:
            parsed = _IssuerFile.model_validate(document)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            raise IssuerFileInvalid(f"{origin} is not valid: {where}: {message}") from None
        try:
            return cls(parsed.issuer, parsed.agency, parsed.key)
        except jwt.PyJWTError as exc:
            raise IssuerFileInvalid(f"{origin} holds no usable key: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> LocalIssuer:
        """The issuer in the file at `path` (FileNotFoundError if there is none)."""
        try:
            document = json.loads(path.read_text())
        except ValueError as exc:
            raise IssuerFileInvalid(f"the issuer file {path} is not JSON: {exc}") from None
        return cls.from_document(document, f"the issuer file {path}")

    def save(self, path: Path) -> None:
        """Write the issuer file, readable by its owner only, replacing any whole."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(self.document(), indent=2) + "\n")
        partial.replace(path)

    def document(self) -> dict[str, Any]:
        """The issuer file's content: private; never give it to a service."""
        return {"issuer": self.issuer, "agency": self.agency, "key": dict(self.key)}

    @property
    def kid(self) -> str:
        return str(self.key["kid"])

    @property
    def algorithm(self) -> str:
        return str(self.key["alg"])

    def public_jwk(self) -> dict[str, Any]:
        """The public half of the key, as the trust list gives it."""
        public = {name: self.key[name] for name in PUBLIC_MEMBERS[str(self.key["kty"])]}
        return public | {"kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def trust_entry(self) -> dict[str, Any]:
        """This issuer's entry in a trust list."""
        return {"issuer": self.issuer, "agency": self.agency, "jwks": {"keys": [self.public_jwk()]}}

    @functools.cached_property
    def signing_key(self) -> Any:
        """The private key, as PyJWT signs with it."""
        return jwt.PyJWK(dict(self.key)).key


def issue_token(
    issuer: LocalIssuer,
    user: str,
    roles: Iterable[str],
    valid_for: timedelta = timedelta(hours=8),
    audience: str = AUDIENCE,
) -> str:
    """A token `issuer` signs for `user` of its agency, with the claims `auth.TokenClaims` asks
    for (`iss`, `iat`, `aud`, a `jti` to name it) and the key's `kid` in its header. It checks
    nothing else: `jembatan token` checks roles and lifetime before calling it."""
    now = datetime.now(UTC)
    claims = {
        "iss": issuer.issuer,
        "sub": user,
        "agency": issuer.agency,
        "roles": list(roles),
        "iat": now,
        "exp": now + valid_for,
        "aud": audience,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        claims, issuer.signing_key, algorithm=issuer.algorithm, headers={"kid": issuer.kid}
    )


def trust_list_of(
    issuers: Iterable[LocalIssuer], also: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The trust list document (AUTH_TRUST_FILE) naming `issuers` with their public keys, and
    the entries `also` gives (an OIDC provider, another deployment's issuer)."""
    return {"issuers": [issuer.trust_entry() for issuer in issuers] + [dict(e) for e in also]}


def write_trust_file(path: Path, document: Mapping[str, Any]) -> None:
    """Write a trust list document; it holds public keys only, so anyone may read it."""
    if any(member in key for member in PRIVATE_MEMBERS for key in _inline_keys(document)):
        raise ValueError("a trust list holds public keys only; this one holds a private part")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    partial.replace(path)


def _inline_keys(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        key
        for entry in document.get("issuers", [])
        for key in (entry.get("jwks") or {}).get("keys", [])
    ]
