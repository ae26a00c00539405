from pydantic import BaseModel, Field

from jembatan_contracts import Track
from jembatan_kit.settings import ServiceSettings

from .domain.costs import CostItem
from .domain.model import LoanTerms


class CostItemSetting(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    description: str
    amount_idr: int = Field(strict=True, gt=0, description="Whole rupiah.")


class FinancingSettings(ServiceSettings):
    service_name: str = "financing"
    http_port: int = 8004
    database_url: str = "sqlite+aiosqlite:///./var/financing.db"
    outbox_relay_process: bool = Field(
        default=True,
        description="Its consumers stage an event for each they handle (a loan opened for each"
        " placement, a schedule fixed for each departure): the relay publishing them runs in a"
        " process of its own, beside the one that handles them (OUTBOX_RELAY_PROCESS=false: in"
        " this one).",
    )
    scheduler_interval_s: float = Field(
        default=1.0, gt=0, description="How often due instalments are looked for."
    )
    scheduler_batch_size: int = Field(default=200, ge=1)
    max_instalments: int = Field(
        default=12, ge=1, description="The longest repayment schedule, in monthly instalments."
    )
    default_costs: dict[Track, list[CostItemSetting]] | None = Field(
        default=None,
        description="Upfront costs fronted per track (DEFAULT_COSTS, as JSON); when set, replaces "
        "the dated defaults of domain/data/terms.toml.",
    )
    default_funder: str = Field(
        default="Dana Talangan Kemnaker",
        min_length=1,
        max_length=120,
        description="The funder named on a loan when no other is chosen.",
    )

    def loan_terms(self) -> LoanTerms:
        """The configured terms, checked against the rules that protect participants."""
        return LoanTerms(
            default_costs={
                track: tuple(CostItem(**item.model_dump()) for item in items)
                for track, items in (self.default_costs or {}).items()
            },
            max_instalments=self.max_instalments,
        )
