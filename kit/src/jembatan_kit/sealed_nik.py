"""The NIK on its way to the national identity index: sealed by the registering agency to the
index's X25519 public key (libsodium's sealed box, through PyNaCl), opened by the index alone,
which keeps only a keyed hash of it under the national key (`IndexKeys.national_hash`).

A sealed box is anonymous: it proves nothing about its sender. The sender is the NATS account the
request arrived through (each agency's leaf account may ask only under its own agency's subjects;
docs/identity-index.md), not the box.

Keys (docs/identity-index.md, "Keys"):
- the index's key file (`IndexKeys`, 0600, at the hub only): its X25519 private key (and, while a
  new one is rolled out, the previous ones, so boxes sealed to an old public key still open) and
  the national HMAC key;
- the public key file, the only thing an agency needs: 32 bytes, base64, one line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

HMAC_KEY_BYTES = 32


class SealedNikUnreadable(ValueError):
    """A sealed NIK that none of the index's private keys opens, or that is no NIK."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def seal_nik(nik: str, public_key: PublicKey) -> str:
    """The NIK sealed to the index's public key, base64: only the index's private key opens it,
    and two seals of the same NIK differ (an ephemeral key each), so a sealed NIK seen on the bus
    cannot be compared with another."""
    return _b64(SealedBox(public_key).encrypt(nik.encode()))


def read_public_key(path: Path) -> PublicKey:
    text = path.read_text().strip()
    try:
        return PublicKey(base64.b64decode(text, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{path} holds no X25519 public key (32 bytes, base64, one line): {exc}"
        ) from None


@dataclass(frozen=True)
class IndexKeys:
    """What only the index holds: its private keys (the first is current) and the national key."""

    private_keys: tuple[PrivateKey, ...]
    national_key: bytes

    @property
    def public_key(self) -> PublicKey:
        return self.private_keys[0].public_key

    def open(self, sealed: str) -> str:
        try:
            box = base64.b64decode(sealed, validate=True)
        except ValueError:
            raise SealedNikUnreadable("the sealed NIK is not base64") from None
        for key in self.private_keys:
            try:
                nik = SealedBox(key).decrypt(box).decode()
            except (CryptoError, UnicodeDecodeError):
                continue
            if len(nik) != 16 or not nik.isdigit():
                raise SealedNikUnreadable("the sealed NIK is not 16 digits")
            return nik
        raise SealedNikUnreadable("no key of the index opens the sealed NIK")

    def national_hash(self, nik: str) -> str:
        """HMAC-SHA256 of the NIK under the national key: what the index stores and compares.
        Without the key, a stored hash cannot be tested against guessed NIKs."""
        return hmac.new(self.national_key, nik.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def generate(cls) -> IndexKeys:
        return cls((PrivateKey.generate(),), secrets.token_bytes(HMAC_KEY_BYTES))

    @classmethod
    def load(cls, path: Path) -> IndexKeys:
        data = json.loads(path.read_text())
        keys = [data["private_key"], *data.get("previous_private_keys", [])]
        national = base64.b64decode(data["national_key"])
        if len(national) < HMAC_KEY_BYTES:
            raise ValueError(f"{path}: national_key must be at least {HMAC_KEY_BYTES} bytes")
        return cls(tuple(PrivateKey(base64.b64decode(k)) for k in keys), national)

    def save(self, path: Path) -> None:
        """Write the key file, readable by its owner only; never over an existing one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "private_key": _b64(bytes(self.private_keys[0])),
            "previous_private_keys": [_b64(bytes(k)) for k in self.private_keys[1:]],
            "national_key": _b64(self.national_key),
            "public_key": _b64(bytes(self.public_key)),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)

    def write_public_key(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_b64(bytes(self.public_key)) + "\n")


def index_keys(path: Path, public_key_file: Path | None = None) -> IndexKeys:
    """The index's keys from `path`, made there first if it does not exist (the embedded
    default: `jembatan up` keeps them in its data folder), with the public key written beside
    them for the registration services."""
    if not path.exists():
        IndexKeys.generate().save(path)
    keys = IndexKeys.load(path)
    if public_key_file is not None:
        keys.write_public_key(public_key_file)
    return keys
