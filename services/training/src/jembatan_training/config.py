from pydantic import Field

from jembatan_kit.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    service_name: str = "training"
    http_port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/training.db"
    daily_score_target: int = Field(
        default=80, ge=0, le=100, description="Daily score a candidate should reach (0-100)."
    )
    early_warning_window_days: int = Field(
        default=5, ge=1, description="How many of a candidate's most recent scores are averaged."
    )
    sectors_in_demand: list[str] = Field(
        default=["agriculture", "caregiver", "automotive", "airport-ground-handling"],
        description="Sectors in demand in Japan, as the training centre knows them (a JSON "
        "list); penjurusan suggestions count them. Japan's employers' needs change: keep it "
        "current.",
    )
