"""Make what deploy/compose.yaml and the Kubernetes manifests need and the repository must never
hold: fresh passwords and keys, and each agency's own token-signing key.

    uv run python deploy/make-env.py [FOLDER]       # FOLDER: deploy/ (beside compose.yaml)

writes into FOLDER (deploy/.gitignore keeps all three out of version control):
- `.env` (0600): a random value for every password and key compose.yaml asks for: the NATS
  users', the PostgreSQL databases', each province's NIK keys;
- `issuers/<agency>.json` (0600): each agency's private signing key, a `jembatan_kit.issuers`
  issuer file. It stays where the agency issues tokens (`jembatan token --issuer-file`, or the
  Kubernetes Secret jembatan-<agency>-issuer) and is given to the agency's console, which signs
  its operators' tokens with it; no service is ever given one;
- `trust.json`: the public trust list (AUTH_TRUST_FILE) every service reads: each issuer, its
  public keys and the one agency it speaks for;
- `identity/index-keys.json` (0600): the national identity index's X25519 private key and national
  HMAC key, for Kemnaker's identity service alone, and `identity/index-public.key`, the public
  key every registration service seals NIKs to (deploy/README.md, "The identity index's keys").

It adds what is missing and keeps what is there: run again after adding a province, and only
that province's values and key are made. An agency that trust.json already names without an
issuer file here (its own OpenID Connect provider, or a key kept on its own machine) gets no key.
Entries of trust.json not made here are kept as they are.

    uv run python deploy/make-env.py --rotate kaltim   # a new key; the old one stays listed
    uv run python deploy/make-env.py --retire kaltim   # list only kaltim's current key

deploy/README.md ("Tokens") says when to restart what.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from jembatan_kit.issuers import (
    IssuerFileInvalid,
    LocalIssuer,
    local_issuer_name,
    trust_list_of,
    write_trust_file,
)
from jembatan_kit.sealed_nik import index_keys
from jembatan_kit.trust import TrustList, TrustListInvalid

DEPLOY = Path(__file__).resolve().parent
COMPOSE = DEPLOY / "compose.yaml"


def _topology() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jembatan_topology", DEPLOY / "nats/topology.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


topology = _topology()
AGENCIES: tuple[str, ...] = topology.AGENCIES


class Refused(Exception):
    """Nothing was written; the message says why."""


# --- .env ------------------------------------------------------------------------------------


def value_for(variable: str) -> str:
    if variable.endswith("NIK_ENCRYPTION_KEY"):  # a Fernet key
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_hex(24)  # safe inside URLs


def variables() -> list[str]:
    return sorted(set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text())))


def read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs if not name.startswith("#")}


def env_values(kept: Mapping[str, str]) -> dict[str, str]:
    """A value for every variable compose.yaml asks for: the one kept, else a new one."""
    return {name: kept.get(name) or value_for(name) for name in variables()}


def write_private(path: Path, text: str) -> None:
    """Write `path` readable by its owner only, replacing any whole."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    partial.replace(path)


# --- issuers and the trust list --------------------------------------------------------------


def read_trust(path: Path) -> list[dict[str, Any]]:
    """The entries of the trust list at `path` (none when there is no file yet)."""
    if not path.exists():
        return []
    try:
        TrustList.load(path)
    except TrustListInvalid as exc:
        raise Refused(f"{exc}\nMend it, or move it away to start a new one.") from None
    entries: list[dict[str, Any]] = json.loads(path.read_text())["issuers"]
    return entries


def issuer_path(folder: Path, agency: str) -> Path:
    return folder / topology.ISSUERS_DIR / f"{agency}.json"


def load_issuer(path: Path, agency: str) -> LocalIssuer:
    try:
        issuer = LocalIssuer.load(path)
    except IssuerFileInvalid as exc:
        raise Refused(str(exc)) from None
    if issuer.agency != agency:
        raise Refused(f"{path} signs for agency {issuer.agency}, not {agency}")
    return issuer


def issuers_for(
    folder: Path, listed: list[dict[str, Any]], rotate: Iterable[str]
) -> tuple[dict[str, LocalIssuer], list[str]]:
    """Each agency's issuer: the one in its file in `folder`, or a new one for an agency being
    rotated (under the same issuer name) or named nowhere yet; and the agencies whose issuer is
    new, to be written. An agency that the trust list names but that has no file here signs
    elsewhere (its own OpenID Connect provider, a key kept on its own machine) and gets none."""
    issuers: dict[str, LocalIssuer] = {}
    fresh: list[str] = []
    for agency in AGENCIES:
        path = issuer_path(folder, agency)
        current = load_issuer(path, agency) if path.exists() else None
        entries = [entry for entry in listed if entry["agency"] == agency]
        if agency in rotate:
            name = current.issuer if current else local_issuer_name(agency)
            if current is None and not any(entry["issuer"] == name for entry in entries):
                raise Refused(
                    f"{agency}'s tokens come from {', '.join(e['issuer'] for e in entries)},"
                    " not from a key made here: its keys rotate there"
                )
            issuers[agency] = LocalIssuer(name, agency, LocalIssuer.generate(agency).key)
            fresh.append(agency)
        elif current is not None:
            issuers[agency] = current
        elif not entries:
            issuers[agency] = LocalIssuer.generate(agency)
            fresh.append(agency)
    return issuers, fresh


def trust_document(
    issuers: Mapping[str, LocalIssuer], listed: list[dict[str, Any]], retire: Iterable[str]
) -> dict[str, Any]:
    """The trust list: each issuer of `issuers` with its current key and, unless its agency is
    being retired, the other keys the list already gave it (a rotated key stays listed beside
    its successor); then every other entry already listed, as it was."""
    local = {issuer.issuer: issuer for issuer in issuers.values()}
    listed_by_name = {str(entry["issuer"]): entry for entry in listed}
    document = trust_list_of(
        issuers.values(), also=[entry for entry in listed if entry["issuer"] not in local]
    )
    for entry in document["issuers"][: len(local)]:
        issuer = local[entry["issuer"]]
        before = listed_by_name.get(issuer.issuer, {})
        entry.update({k: v for k, v in before.items() if k not in entry})  # audience, roles_claim
        if issuer.agency not in retire:
            previous = (before.get("jwks") or {}).get("keys", [])
            entry["jwks"]["keys"] += [key for key in previous if key.get("kid") != issuer.kid]
    return document


# --- the whole -------------------------------------------------------------------------------


def make(folder: Path, rotate: Iterable[str] = (), retire: Iterable[str] = ()) -> None:
    """Write `.env`, the issuer files and the trust list into `folder` (see the module's text);
    Refused, with nothing written, if the result would not be a valid trust list."""
    trust_path = folder / topology.TRUST_FILE
    listed = read_trust(trust_path)
    for agency in retire:
        if not issuer_path(folder, agency).exists():
            raise Refused(
                f"{agency} has no issuer file in {folder / topology.ISSUERS_DIR}: its current key"
                " is not known here, so neither is which of its listed keys to keep"
            )
    issuers, fresh = issuers_for(folder, listed, rotate)
    document = trust_document(issuers, listed, retire)
    try:
        TrustList.from_document(document, f"the trust list for {trust_path}")
    except TrustListInvalid as exc:
        raise Refused(str(exc)) from None

    (folder / topology.ISSUERS_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
    for agency in fresh:
        issuers[agency].save(issuer_path(folder, agency))
        print(f"{issuer_path(folder, agency)}: a new key ({issuers[agency].kid})", file=sys.stderr)
    write_trust_file(trust_path, document)
    keys = sum(len((entry.get("jwks") or {}).get("keys", [])) for entry in document["issuers"])
    issuer_count = len(document["issuers"])
    print(f"{trust_path}: {issuer_count} issuers, {keys} listed keys", file=sys.stderr)

    identity = folder / topology.IDENTITY_DIR
    made_index_keys = not (identity / topology.INDEX_KEYS_FILE).exists()
    index_keys(identity / topology.INDEX_KEYS_FILE, identity / topology.INDEX_PUBLIC_KEY_FILE)
    if made_index_keys:
        print(f"{identity}: the identity index's keys, new", file=sys.stderr)

    env_path = folder / ".env"
    kept = read_env(env_path)
    values = env_values(kept)
    write_private(env_path, "".join(f"{name}={value}\n" for name, value in values.items()))
    made = sum(1 for name in values if name not in kept)
    print(f"{env_path}: {len(values)} values, {made} new", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write .env, issuers/<agency>.json and trust.json for deploy/."
    )
    parser.add_argument("folder", nargs="?", type=Path, default=DEPLOY)
    parser.add_argument(
        "--rotate",
        action="append",
        default=[],
        choices=AGENCIES,
        help="give the agency a new key, listed beside its old one (repeatable)",
    )
    parser.add_argument(
        "--retire",
        action="append",
        default=[],
        choices=AGENCIES,
        help="list only the agency's current key, once the old one's tokens have expired",
    )
    args = parser.parse_args(argv)
    if both := set(args.rotate) & set(args.retire):
        parser.error(f"--rotate and --retire of the same agency ({', '.join(sorted(both))})")
    try:
        make(args.folder, args.rotate, args.retire)
    except Refused as exc:
        print(f"make-env: nothing written: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
