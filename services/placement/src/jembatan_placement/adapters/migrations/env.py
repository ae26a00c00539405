from jembatan_kit.messaging_tables import messaging_metadata
from jembatan_kit.migrations import run_env
from jembatan_placement.adapters.orm import metadata

run_env(target_metadata=[metadata, messaging_metadata])
