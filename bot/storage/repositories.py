"""Reading and writing people and their conversation log.

Functions take the session and keyword-only arguments, return plain objects and never
commit: the transaction belongs to the update (see bot.telegram.middlewares).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import ConversationEvent, HumanRequest, LinkCode, Person, Plan, utcnow


@dataclass(frozen=True, slots=True)
class PersonState:
    """A person and where they are in the conversation."""

    id: int
    telegram_user_id: int | None
    display_name: str
    language: str
    step: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One line of the conversation log, before it is stored."""

    direction: str
    kind: str
    step: str
    body: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


def _state(person: Person) -> PersonState:
    return PersonState(
        id=person.id,
        telegram_user_id=person.telegram_user_id,
        display_name=person.display_name,
        language=person.language,
        step=person.step,
        data=dict(person.conversation),
    )


async def person_by_telegram_id(
    session: AsyncSession, *, telegram_user_id: int, for_update: bool = False
) -> PersonState | None:
    query = select(Person).where(Person.telegram_user_id == telegram_user_id)
    if for_update:
        query = query.with_for_update()
    person = await session.scalar(query)
    return None if person is None else _state(person)


async def get_or_create_person(
    session: AsyncSession, *, telegram_user_id: int, display_name: str, language: str
) -> PersonState:
    found = await person_by_telegram_id(session, telegram_user_id=telegram_user_id, for_update=True)
    if found is not None:
        return found
    person = Person(
        telegram_user_id=telegram_user_id,
        display_name=display_name[:200],
        language=language,
        step="new",
        conversation={},
    )
    session.add(person)
    await session.flush()
    return _state(person)


async def save_conversation(
    session: AsyncSession, *, person_id: int, step: str, data: Mapping[str, Any]
) -> None:
    person = await session.get_one(Person, person_id)
    person.step = step
    person.conversation = dict(data)


async def log_events(
    session: AsyncSession,
    *,
    person_id: int,
    actor_telegram_id: int | None,
    events: Iterable[LoggedEvent],
) -> None:
    session.add_all(
        ConversationEvent(
            person_id=person_id,
            actor_telegram_id=actor_telegram_id,
            direction=event.direction,
            kind=event.kind,
            step=event.step,
            body=event.body,
            detail=dict(event.detail),
        )
        for event in events
    )


async def conversation_log(session: AsyncSession, *, person_id: int) -> list[LoggedEvent]:
    rows = await session.scalars(
        select(ConversationEvent)
        .where(ConversationEvent.person_id == person_id)
        .order_by(ConversationEvent.id)
    )
    return [
        LoggedEvent(row.direction, row.kind, row.step, row.body, dict(row.detail)) for row in rows
    ]


# ---- link codes, plans and requests for staff ---------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud
CODE_LENGTH = 10


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@dataclass(frozen=True, slots=True)
class CouncilBudget:
    """A budget staff set up for someone, found through a link code."""

    display_name: str
    scheme_id: str
    annual_pence: int
    weekly_pence: int
    contribution_annual_pence: int
    explanation: Mapping[str, Any]


async def create_link_code(
    session: AsyncSession,
    *,
    display_name: str,
    scheme_id: str,
    annual_pence: int,
    weekly_pence: int,
    valid_for: timedelta,
    contribution_annual_pence: int = 0,
    explanation: Mapping[str, Any] | None = None,
) -> str:
    """Store a new one-time code (only its hash is kept) and return the code itself."""
    code = new_code()
    session.add(
        LinkCode(
            code_hash=code_hash(code),
            display_name=display_name,
            scheme_id=scheme_id,
            annual_pence=annual_pence,
            weekly_pence=weekly_pence,
            contribution_annual_pence=contribution_annual_pence,
            explanation=dict(explanation or {}),
            expires_at=utcnow() + valid_for,
        )
    )
    await session.flush()
    return code


async def redeem_link_code(
    session: AsyncSession, *, code: str, person_id: int
) -> CouncilBudget | None:
    """Use a code once: the budget behind it, or None if it is unknown, used or expired."""
    found = await session.scalar(
        select(LinkCode).where(LinkCode.code_hash == code_hash(code)).with_for_update()
    )
    if found is None or found.redeemed_at is not None:
        return None
    expires = found.expires_at
    if expires.tzinfo is None:  # SQLite hands back naive datetimes
        expires = expires.replace(tzinfo=UTC)
    if expires <= utcnow():
        return None
    found.redeemed_at = utcnow()
    found.redeemed_by = person_id
    return CouncilBudget(
        found.display_name,
        found.scheme_id,
        found.annual_pence,
        found.weekly_pence,
        found.contribution_annual_pence,
        dict(found.explanation),
    )


async def submit_plan(
    session: AsyncSession,
    *,
    person_id: int,
    summary: Mapping[str, Any],
    submitted_by_telegram_id: int | None,
) -> int:
    plan = Plan(
        person_id=person_id,
        status="submitted",
        budget_annual_pence=int(summary["budget_annual_pence"]),
        planned_annual_pence=int(summary["planned_annual_pence"]),
        management=str(summary.get("management", "")),
        summary=dict(summary),
        submitted_by_telegram_id=submitted_by_telegram_id,
    )
    session.add(plan)
    await session.flush()
    return plan.id


async def plans_of(session: AsyncSession, *, person_id: int) -> list[Plan]:
    rows = await session.scalars(select(Plan).where(Plan.person_id == person_id).order_by(Plan.id))
    return list(rows)


async def ask_for_human(session: AsyncSession, *, person_id: int, step: str) -> None:
    session.add(HumanRequest(person_id=person_id, step=step))


async def forget_conversation(session: AsyncSession, *, person_id: int) -> None:
    """Erase what the person said before declining; the refusal itself is logged after."""
    await session.execute(delete(ConversationEvent).where(ConversationEvent.person_id == person_id))
    person = await session.get_one(Person, person_id)
    person.conversation = {}
