"""How a migrated database differs from the tables a package declares: each service's tests
compare their own tables, the kit's tests its messaging and audit tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from jembatan_kit.db import create_engine


async def differences_from(database_url: str, declared: MetaData) -> list[object]:
    """Alembic's differences between the database and `declared`, types compared, leaving out
    the tables `declared` does not name and their indexes: those are another's to compare."""

    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [
            difference
            for difference in compare_metadata(context, declared)
            if not (
                isinstance(difference, tuple)
                and (
                    difference[0] == "remove_table"
                    or (
                        difference[0] == "remove_index"
                        and difference[1].table.name not in declared.tables
                    )
                )
            )
        ]

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()
