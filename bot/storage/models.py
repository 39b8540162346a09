"""Database tables. Money is integer pence (BigInteger), never Numeric or float."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements built once (see the hot path in repositories)."""
    return cast(Table, model.__table__)


class Person(Base):
    """A service user (or someone talking to the assistant) and where their conversation is."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    step: Mapped[str] = mapped_column(String(64), default="new")
    conversation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A carer chooses whose plan they are working on; None: their own conversation.
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_by_staff: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # The hash of the newest row on this person's audit chain (`bot.audit`); None: none yet.
    audit_last_hash: Mapped[str | None] = mapped_column(String(64))

    budgets: Mapped[list[Budget]] = relationship(
        back_populates="person", foreign_keys="Budget.person_id"
    )


class Budget(Base):
    """A personal budget: set by staff, or estimated from the self-assessment."""

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    scheme_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # "council" or "estimate"
    annual_pence: Mapped[int] = mapped_column(BigInteger)
    weekly_pence: Mapped[int] = mapped_column(BigInteger)
    contribution_annual_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    person: Mapped[Person] = relationship(back_populates="budgets")


class ConversationEvent(Base):
    """One message in or out, or one choice, with who acted and whom it concerns."""

    __tablename__ = "conversation_events"
    __table_args__ = (Index("ix_conversation_events_person_time", "person_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str] = mapped_column(String(16), default="person")  # person, carer, staff
    direction: Mapped[str] = mapped_column(String(8))  # "in", "out" or "choice"
    kind: Mapped[str] = mapped_column(String(32))  # text, command, press, message, ...
    step: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LinkCode(Base):
    """A one-time code staff give a person so the chat can find the budget set up for them.

    Only a hash of the code is stored; the code itself is shown once, when it is made.
    """

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    scheme_id: Mapped[str] = mapped_column(String(64))
    annual_pence: Mapped[int] = mapped_column(BigInteger)
    weekly_pence: Mapped[int] = mapped_column(BigInteger)
    contribution_annual_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redeemed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class Plan(Base):
    """A support plan a person confirmed, as they saw it, waiting for staff review."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    budget_annual_pence: Mapped[int] = mapped_column(BigInteger)
    planned_annual_pence: Mapped[int] = mapped_column(BigInteger)
    management: Mapped[str] = mapped_column(String(32), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_comment: Mapped[str] = mapped_column(Text, default="")


class HumanRequest(Base):
    """A person asked (/human) for a member of staff to get in touch."""

    __tablename__ = "human_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CodeAttempt(Base):
    """A link or invite code typed in the chat; failures slow down guessing."""

    __tablename__ = "code_attempts"
    __table_args__ = (Index("ix_code_attempts_user_time", "telegram_user_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    succeeded: Mapped[bool] = mapped_column(default=False)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CarerLink(Base):
    """A carer allowed to act for a person, within a scope the person (or staff) chose."""

    __tablename__ = "carer_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    carer_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(16))  # view, help or full
    invite_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(16), default="person")  # person or staff
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ErasureRequest(Base):
    """A person asked (/forget) for their data to be erased; staff handle it."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    requested_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One row of the append-only audit log, chained to the one before by its hash.

    Rows hold who did what to whose record, never message text, so erasing old
    conversation text leaves the chain verifiable. `subject_person_id` has no foreign key
    for the same reason: nothing may change a row once written. `chain_person_id` is the
    person whose own chain the row is on (rows their conversation appends), or None for
    the log-wide chain (staff, the command line, the system, and every row before 0006).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))  # person, carer, staff, system
    actor_id: Mapped[str] = mapped_column(String(64))
    subject_person_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    chain_person_id: Mapped[int | None] = mapped_column(BigInteger)


class AuditHead(Base):
    """The newest hash of the log-wide audit chain: one row, locked while a row is appended
    to that chain (a person's own chain keeps its newest hash in `Person.audit_last_hash`)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


# Tables of the Telegram runtime (update journal) and of the staff dashboard live in their
# own modules on the same Base.
from bot.storage import journal, staff  # noqa: E402, F401
