"""Protection of personal data at rest (UU 27/2022): NIK and name encrypted, NIK hashed with a
key for look-ups, so the database alone reveals neither."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from ..config import RegistrationSettings


@dataclass(frozen=True)
class IdentityProtector:
    encryption_key: bytes
    hash_key: bytes

    def encrypt(self, value: str) -> str:
        return Fernet(self.encryption_key).encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        return Fernet(self.encryption_key).decrypt(token.encode()).decode()

    def lookup_hash(self, nik: str) -> str:
        return hmac.new(self.hash_key, nik.encode(), hashlib.sha256).hexdigest()


def load_protector(settings: RegistrationSettings) -> IdentityProtector:
    """Keys from the environment (both: the settings refuse one alone); otherwise generated once
    into the secrets file (mode 0600). A service whose encryption key is no Fernet key refuses
    to start rather than fail at its first registration."""
    if settings.nik_encryption_key and settings.nik_hash_key:
        encryption_key = settings.nik_encryption_key.get_secret_value().encode()
        try:
            Fernet(encryption_key)
        except ValueError:
            raise ValueError(
                "NIK_ENCRYPTION_KEY is not a Fernet key (32 bytes, URL-safe base64; make one"
                " with `python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())'`)"
            ) from None
        return IdentityProtector(encryption_key, settings.nik_hash_key.get_secret_value().encode())
    path: Path = settings.secrets_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = {"encryption_key": Fernet.generate_key().decode(), "hash_key": secrets.token_hex(32)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(keys, handle)
    keys = json.loads(path.read_text())
    return IdentityProtector(keys["encryption_key"].encode(), keys["hash_key"].encode())
