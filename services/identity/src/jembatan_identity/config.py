from pathlib import Path

from pydantic import Field

from jembatan_kit.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: str = "identity"
    http_port: int = 8006
    database_url: str = "sqlite+aiosqlite:///./var/identity.db"
    identity_keys_file: Path = Field(
        default=Path("./var/identity/index-keys.json"),
        description="The index's X25519 private key(s) and national HMAC key, 0600, at the hub "
        "only (IDENTITY_KEYS_FILE). Made there at first start when missing (the embedded "
        "default); a deployment provides it (deploy/README.md, 'The identity index's keys').",
    )
    identity_public_key_file: Path | None = Field(
        default=None,
        description="Where to write the index's public key at start, for the registration "
        "services of this server (IDENTITY_PUBLIC_KEY_FILE); unset, it is not written.",
    )
