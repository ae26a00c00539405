from jembatan_identity.adapters.orm import metadata
from jembatan_kit.audit import audit_metadata
from jembatan_kit.messaging_tables import messaging_metadata
from jembatan_kit.migrations import run_env

run_env(target_metadata=[metadata, messaging_metadata, audit_metadata])
