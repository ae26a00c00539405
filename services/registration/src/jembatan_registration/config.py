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
