from pydantic import BaseModel, Field

from jembatan_kit.settings import ServiceSettings

from .domain.targets import Target, Targets


class TargetSetting(BaseModel):
    agency: str = Field(pattern=r"^[a-z][a-z0-9-]{1,31}$")
    from_year: int = Field(ge=2000, le=2100)
    departures: int = Field(gt=0)
    source: str = ""


class DashboardSettings(ServiceSettings):
    service_name: str = "dashboard"
    http_port: int = 8005
    database_url: str = "sqlite+aiosqlite:///./var/dashboard.db"
    daily_score_target: int = Field(
        default=80,
        ge=0,
        le=100,
        description="The daily score cohorts should average (DAILY_SCORE_TARGET, as training).",
    )
    early_warning_window_days: int = Field(
        default=5, ge=1, description="How many of a member's most recent scores are averaged."
    )
    dashboard_targets: list[TargetSetting] | None = Field(
        default=None,
        description="Departure targets (DASHBOARD_TARGETS, JSON list of {agency, from_year, "
        "departures, source}); when set, replaces the dated defaults of domain/data/targets.toml.",
    )
    service_urls: dict[str, str] = Field(
        default={
            "registration": "http://127.0.0.1:8001",
            "training": "http://127.0.0.1:8002",
            "placement": "http://127.0.0.1:8003",
            "financing": "http://127.0.0.1:8004",
        },
        description="Where each service's API (and its /docs) lives, for the page's links "
        "(SERVICE_URLS, JSON).",
    )

    def targets(self) -> Targets:
        if self.dashboard_targets is None:
            return Targets.from_file()
        return Targets(Target(**target.model_dump()) for target in self.dashboard_targets)
