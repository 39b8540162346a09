"""Reading and writing people and their conversation log.

Functions take the session and keyword-only arguments, return plain objects and never
commit: the transaction belongs to the update (see bot.telegram.middlewares).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import ConversationEvent, Person


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
