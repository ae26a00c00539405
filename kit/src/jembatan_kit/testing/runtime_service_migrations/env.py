from jembatan_kit.messaging_tables import messaging_metadata
from jembatan_kit.migrations import run_env
from jembatan_kit.testing.runtime_service import service_metadata

run_env(target_metadata=[service_metadata, messaging_metadata])
