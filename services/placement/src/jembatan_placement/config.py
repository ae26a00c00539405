from pydantic import Field

from jembatan_kit.settings import ServiceSettings


class PlacementSettings(ServiceSettings):
    service_name: str = "placement"
    http_port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./var/placement.db"
    waiting_readiness_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="How often a readiness still waiting though its certificate is held is"
        " looked for (a certificate handled at the same moment as its readiness).",
    )
