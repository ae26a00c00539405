from runtime_test_service import service_metadata

from jembatan_kit.messaging_tables import messaging_metadata
from jembatan_kit.migrations import run_env

run_env(target_metadata=[service_metadata, messaging_metadata])
