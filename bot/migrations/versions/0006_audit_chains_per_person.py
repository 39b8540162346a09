"""Each person's conversation appends to an audit chain of its own

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 14:30:00.000000

Every audited update used to lock the log's one head row from its turn's statement to its
commit, so the updates of everyone, on every worker, waited for each other there
(bench/README.md, "Seventeenth round"). The rows a person's conversation appends now chain
after the newest row of that person's own chain, whose hash the person's row keeps
(`people.audit_last_hash`), and `audit_log.chain_person_id` says whose chain a row is on.
Rows from staff, the command line and the system stay on the log-wide chain
(`chain_person_id` NULL, head in `audit_head`), and so do all rows written before.

The downgrade refuses while any row is on a person's chain: it cannot join them to the
log-wide chain without hashing them again, which is what the chain exists to show.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("chain_person_id", sa.BigInteger(), nullable=True))
    op.add_column("people", sa.Column("audit_last_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    on_chains = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM audit_log WHERE chain_person_id IS NOT NULL")
    )
    if on_chains:
        rows = "1 audit row" if on_chains == 1 else f"{on_chains} audit rows"
        raise RuntimeError(
            f"Not downgraded: {rows} on people's own chains cannot join revision 0005's one "
            "chain without being hashed again."
        )
    # SQLite (3.35 and later) drops a column in place, as PostgreSQL does: no copy of the
    # table, which the tables that refer to `people` would make harder.
    op.drop_column("people", "audit_last_hash")
    op.drop_column("audit_log", "chain_person_id")
