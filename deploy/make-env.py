"""Print a `.env` for deploy/compose.yaml: a fresh random value for every password and key the
compose file asks for. Keep the output out of version control (deploy/.env is ignored).

    python deploy/make-env.py > deploy/.env
"""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

COMPOSE = Path(__file__).resolve().parent / "compose.yaml"


def value_for(variable: str) -> str:
    if variable.endswith("NIK_ENCRYPTION_KEY"):  # a Fernet key
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_hex(24)  # safe inside URLs


def variables() -> list[str]:
    return sorted(set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text())))


if __name__ == "__main__":
    for variable in variables():
        print(f"{variable}={value_for(variable)}")
