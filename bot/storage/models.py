"""Database tables. Money is integer pence (BigInteger), never Numeric or float."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class Person(Base):
    """A service user (or someone talking to the assistant) and where their conversation is."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    step: Mapped[str] = mapped_column(String(64), default="new")
    conversation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    budgets: Mapped[list[Budget]] = relationship(back_populates="person")


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


# Tables of the Telegram runtime (update journal) live in their own module on the same Base.
from bot.storage import journal  # noqa: E402, F401
