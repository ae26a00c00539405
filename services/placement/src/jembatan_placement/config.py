from jembatan_kit.settings import ServiceSettings


class PlacementSettings(ServiceSettings):
    service_name: str = "placement"
    http_port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./var/placement.db"
