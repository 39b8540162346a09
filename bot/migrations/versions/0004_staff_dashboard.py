"""staff dashboard: accounts, sessions, login attempts, caseloads, plan decisions, text search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# SQLite: an FTS5 index over conversation_events.body (external content, kept in step by
# triggers). PostgreSQL: a GIN index on the same text's tsvector.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE conversation_events_fts USING fts5("
    "body, content='conversation_events', content_rowid='id')",
    "CREATE TRIGGER conversation_events_fts_ai AFTER INSERT ON conversation_events BEGIN "
    "INSERT INTO conversation_events_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER conversation_events_fts_ad AFTER DELETE ON conversation_events BEGIN "
    "INSERT INTO conversation_events_fts(conversation_events_fts, rowid, body) "
    "VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER conversation_events_fts_au AFTER UPDATE OF body ON conversation_events BEGIN "
    "INSERT INTO conversation_events_fts(conversation_events_fts, rowid, body) "
    "VALUES ('delete', old.id, old.body); "
    "INSERT INTO conversation_events_fts(rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO conversation_events_fts(conversation_events_fts) VALUES ('rebuild')",
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS conversation_events_fts_au",
    "DROP TRIGGER IF EXISTS conversation_events_fts_ad",
    "DROP TRIGGER IF EXISTS conversation_events_fts_ai",
    "DROP TABLE IF EXISTS conversation_events_fts",
]
POSTGRES_FTS = (
    "CREATE INDEX ix_conversation_events_body_fts ON conversation_events "
    "USING gin (to_tsvector('simple', body))"
)


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    op.create_table(
        "staff_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("remote", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_staff_login_attempts_email_time", "staff_login_attempts", ["email", "attempted_at"]
    )
    op.create_index(
        "ix_staff_login_attempts_remote_time", "staff_login_attempts", ["remote", "attempted_at"]
    )
    op.create_table(
        "caseload_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "person_id", name="uq_caseload_staff_person"),
    )
    op.create_index("ix_caseload_assignments_staff_id", "caseload_assignments", ["staff_id"])
    op.create_index("ix_caseload_assignments_person_id", "caseload_assignments", ["person_id"])
    op.create_table(
        "plan_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_decisions_plan_id", "plan_decisions", ["plan_id"])

    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(POSTGRES_FTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_conversation_events_body_fts")
    op.drop_index("ix_plan_decisions_plan_id", table_name="plan_decisions")
    op.drop_table("plan_decisions")
    op.drop_index("ix_caseload_assignments_person_id", table_name="caseload_assignments")
    op.drop_index("ix_caseload_assignments_staff_id", table_name="caseload_assignments")
    op.drop_table("caseload_assignments")
    op.drop_index("ix_staff_login_attempts_remote_time", table_name="staff_login_attempts")
    op.drop_index("ix_staff_login_attempts_email_time", table_name="staff_login_attempts")
    op.drop_table("staff_login_attempts")
    op.drop_index("ix_staff_sessions_staff_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_accounts")
