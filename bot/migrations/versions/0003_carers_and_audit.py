"""carers, audit log, erasure requests and code attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:54:54.916537
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The chain starts from an all-zero hash.
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer()),
            sa.column("last_id", sa.BigInteger()),
            sa.column("last_hash", sa.String()),
        ),
        [{"id": 1, "last_id": 0, "last_hash": "0" * 64}],
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("subject_person_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_subject_person_id"), ["subject_person_id"], unique=False
        )

    op.create_table(
        "code_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_code_attempts_user_time", ["telegram_user_id", "attempted_at"], unique=False
        )

    op.create_table(
        "carer_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("carer_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("invite_hash", sa.String(length=64), nullable=True),
        sa.Column("invite_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["carer_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invite_hash"),
    )
    with op.batch_alter_table("carer_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carer_links_carer_id"), ["carer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carer_links_person_id"), ["person_id"], unique=False)

    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_requests_person_id"), ["person_id"], unique=False
        )

    with op.batch_alter_table("conversation_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("actor_role", sa.String(length=16), nullable=False, server_default="person")
        )

    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_link_codes_person_id_people", "people", ["person_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acting_for_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("created_by_staff", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_foreign_key(
            "fk_people_acting_for_id_people",
            "people",
            ["acting_for_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint("fk_people_acting_for_id_people", type_="foreignkey")
        batch_op.drop_column("created_by_staff")
        batch_op.drop_column("acting_for_id")

    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_link_codes_person_id_people", type_="foreignkey")
        batch_op.drop_column("person_id")

    with op.batch_alter_table("conversation_events", schema=None) as batch_op:
        batch_op.drop_column("actor_role")

    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_requests_person_id"))

    op.drop_table("erasure_requests")
    with op.batch_alter_table("carer_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carer_links_person_id"))
        batch_op.drop_index(batch_op.f("ix_carer_links_carer_id"))

    op.drop_table("carer_links")
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_code_attempts_user_time")

    op.drop_table("code_attempts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject_person_id"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
