from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator

from jembatan_kit.settings import ServiceSettings

NIK_KEYS = {"nik_encryption_key": "NIK_ENCRYPTION_KEY", "nik_hash_key": "NIK_HASH_KEY"}


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    http_port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./var/registration.db"
    nik_encryption_key: SecretStr | None = Field(
        default=None, description="Fernet key for NIKs and names at rest (NIK_ENCRYPTION_KEY)."
    )
    nik_hash_key: SecretStr | None = Field(
        default=None, description="HMAC key for NIK look-ups and duplicate checks (NIK_HASH_KEY)."
    )
    identity_public_key_file: Path | None = Field(
        default=None,
        description="The national identity index's X25519 public key (IDENTITY_PUBLIC_KEY_FILE;"
        " base64, one line): each NIK is sealed to it before it leaves this service. Unset, no"
        " national check is made: a registration is checked against this service's candidates"
        " only (`jembatan up` and the deployment always set it; docs/identity-index.md).",
    )
    identity_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="How long a registration waits for the index's answer before it is accepted"
        " as provisional (IDENTITY_TIMEOUT_S). A leaf cut off from the hub answers at once.",
    )
    identity_sync_interval_s: float = Field(
        default=0.5,
        gt=0,
        description="How often the index is sent what it has still to hear of, and asked for"
        " its notices (IDENTITY_SYNC_INTERVAL_S).",
    )
    secrets_file: Path = Field(
        default=Path("./var/registration-secrets.json"),
        description="Where keys are generated on first start when neither key is given in the "
        "environment.",
    )

    @model_validator(mode="after")
    def _both_nik_keys_or_neither(self) -> Self:
        """One key given without the other is a deployment mistake: generating the missing one
        would store NIKs under a key the operator does not hold (and, for the hash key, make
        every earlier NIK unfindable), so the service refuses to start instead."""
        given = {name for name in NIK_KEYS if getattr(self, name)}
        if len(given) == 1:
            [present] = [NIK_KEYS[name] for name in given]
            [missing] = [NIK_KEYS[name] for name in NIK_KEYS if name not in given]
            raise ValueError(
                f"{present} is set but {missing} is not (or is empty): set both NIK keys, or "
                f"neither to use the keys generated into SECRETS_FILE ({self.secrets_file})"
            )
        return self
