from pathlib import Path

from pydantic import Field, SecretStr

from jembatan_kit.settings import ServiceSettings


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
        description="Where keys are generated on first start when not given in the environment.",
    )
