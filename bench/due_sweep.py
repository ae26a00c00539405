"""What financing's due-instalment sweep costs as announced instalments pile up: a year of the
national programme leaves hundreds of thousands, and the sweep runs every second.

A SQLite database migrated to head (the service's own migrations, so its own indexes), filled
with `--loans` loans being repaid, each with its first instalment due and announced and eleven
to come, as after that many journeys; then the sweep's read (`due_instalments`, the repository
the scheduler uses), timed `--repeat` times. It finds nothing to announce, as most sweeps do.

    uv run python bench/due_sweep.py --loans 10000 100000 300000

Prints one row per size: the median and the slowest sweep in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts.ids import new_id
from jembatan_financing.adapters.orm import instalments, loans
from jembatan_financing.adapters.repository import SqlFinancingRepository
from jembatan_financing.bootstrap import MIGRATIONS
from jembatan_financing.domain.model import instalment_id_for
from jembatan_kit.db import create_engine
from jembatan_kit.migrations import upgrade_to_head

TODAY = date(2027, 3, 15)
AT_NOON = datetime(2027, 3, 15, 12, tzinfo=UTC)
CHUNK = 5000


async def sweep_ms(database_url: str, count: int, repeat: int) -> list[float]:
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    try:
        for start in range(0, count, CHUNK):
            loan_rows, instalment_rows = [], []
            for _ in range(min(CHUNK, count - start)):
                loan_id = new_id()
                loan_rows.append(
                    {
                        "id": loan_id,
                        "placement_id": new_id(),
                        "candidate_id": new_id(),
                        "agency": "kaltim",
                        "journey_id": new_id(),
                        "track": "TITP",
                        "contract_months": 36,
                        "principal_idr": 30_000_000,
                        "repayment_channel": "own_transfer",
                        "status": "repaying",
                        "opened_at": AT_NOON,
                    }
                )
                instalment_rows += [
                    {
                        "id": instalment_id_for(loan_id, number),
                        "loan_id": loan_id,
                        "number": number,
                        "due_date": TODAY + timedelta(days=30 * (number - 1)),
                        "amount_idr": 2_500_000,
                        "announced_at": AT_NOON if number == 1 else None,
                    }
                    for number in range(1, 13)
                ]
            async with engine.begin() as connection:
                await connection.execute(insert(loans), loan_rows)
                await connection.execute(insert(instalments), instalment_rows)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            async with AsyncSession(engine) as session, session.begin():
                await SqlFinancingRepository(session).due_instalments(TODAY, 200)
            timings.append((time.perf_counter() - started) * 1000)
        return timings
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print("| loans, each with one instalment announced | sweep, median | sweep, slowest |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="jembatan-sweep-") as folder:
        for count in args.loans:
            url = f"sqlite+aiosqlite:///{Path(folder) / f'financing-{count}.db'}"
            timings = await sweep_ms(url, count, args.repeat)
            print(
                f"| {count:,} | {statistics.median(timings):.1f} ms | {max(timings):.1f} ms |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
