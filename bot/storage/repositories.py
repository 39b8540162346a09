"""Reading and writing people and their conversation log.

Functions take the session and keyword-only arguments, return plain objects and never
commit: the transaction belongs to the update (see bot.telegram.middlewares).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy import update as sa_update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.storage import direct
from bot.storage.engine import JsonText, json_param
from bot.storage.models import (
    Budget,
    CarerLink,
    CodeAttempt,
    ConversationEvent,
    ErasureRequest,
    HumanRequest,
    LinkCode,
    Person,
    Plan,
    table_of,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class PersonState:
    """A person and where they are in the conversation."""

    id: int
    telegram_user_id: int | None
    display_name: str
    language: str
    step: str
    data: Mapping[str, Any]
    acting_for_id: int | None = None  # a carer's choice of whose plan they work on


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
        acting_for_id=person.acting_for_id,
    )


# The statements every update runs are built once, on the tables, with bound parameters:
# building a statement and going through the ORM's execution cost three times as much as
# running it (see bench/README.md, "What the profile showed").
_people = table_of(Person)
PERSON_COLUMNS = (
    _people.c.id,
    _people.c.telegram_user_id,
    _people.c.display_name,
    _people.c.language,
    _people.c.step,
    _people.c.conversation.label("data"),
    _people.c.acting_for_id,
)  # a PersonState's fields, in order
_PERSON_BY_TELEGRAM_ID = select(*PERSON_COLUMNS).where(
    _people.c.telegram_user_id == bindparam("p_telegram_user_id")
)
_PERSON_BY_TELEGRAM_ID_FOR_UPDATE = _PERSON_BY_TELEGRAM_ID.with_for_update()
_ADD_PERSON = insert(_people).returning(*PERSON_COLUMNS)
_SAVE_CONVERSATION = (
    sa_update(_people)
    .where(_people.c.id == bindparam("p_person_id"))
    .values(step=bindparam("p_step"), conversation=bindparam("p_data"))
)
_LOG_EVENTS = insert(table_of(ConversationEvent))
_plans = table_of(Plan)
_SUBMIT_PLAN = insert(_plans).returning(_plans.c.id)


def person_of(row: Sequence[Any]) -> PersonState:
    """A PersonState from a row of PERSON_COLUMNS."""
    person_id, user_id, display_name, language, step, data, acting_for_id = row
    return PersonState(person_id, user_id, display_name, language, step, dict(data), acting_for_id)


async def person_by_telegram_id(
    session: AsyncSession, *, telegram_user_id: int, for_update: bool = False
) -> PersonState | None:
    query = _PERSON_BY_TELEGRAM_ID_FOR_UPDATE if for_update else _PERSON_BY_TELEGRAM_ID
    rows = await direct.execute(session, query, {"p_telegram_user_id": telegram_user_id})
    return person_of(rows[0]) if rows else None


# A person's row read and locked (FOR UPDATE) by the statement that claimed the update
# (journal.begin_handling on PostgreSQL), for this transaction's get_or_create_person: a
# round trip fewer on every update (bench/README.md, "Ninth round"). Kept with the
# transaction it was locked in, and taken once.
_LOCKED_PERSON = "codesign.locked_person"


def keep_locked_person(session: AsyncSession, person: PersonState) -> None:
    """Hand `person`, read and locked in the session's transaction, to get_or_create_person."""
    transaction = session.sync_session.get_transaction()
    if transaction is not None:
        session.info[_LOCKED_PERSON] = (transaction, person)


def take_locked_person(session: AsyncSession, telegram_user_id: int) -> PersonState | None:
    """The person `keep_locked_person` kept, if theirs is `telegram_user_id` and the
    transaction it was locked in is still open; taken once."""
    kept = session.info.pop(_LOCKED_PERSON, None)
    if kept is None:
        return None
    transaction, person = kept
    if transaction is not session.sync_session.get_transaction():
        return None  # locked in a transaction that has ended
    return person if person.telegram_user_id == telegram_user_id else None


async def get_or_create_person(
    session: AsyncSession, *, telegram_user_id: int, display_name: str, language: str
) -> PersonState:
    found = take_locked_person(session, telegram_user_id) or await person_by_telegram_id(
        session, telegram_user_id=telegram_user_id, for_update=True
    )
    if found is not None:
        return found
    (row,) = await direct.execute(
        session,
        _ADD_PERSON,
        {
            "telegram_user_id": telegram_user_id,
            "display_name": display_name[:200],
            "language": language,
            "step": "new",
            "conversation": {},
        },
    )
    return person_of(row)


async def save_conversation(
    session: AsyncSession, *, person_id: int, step: str, data: Mapping[str, Any] | JsonText
) -> None:
    # One UPDATE: loading the row first cost a SELECT and an ORM object per update.
    await direct.execute(
        session,
        _SAVE_CONVERSATION,
        {
            "p_person_id": person_id,
            "p_step": step,
            "p_data": json_param(data),
        },
    )


async def log_events(
    session: AsyncSession,
    *,
    person_id: int,
    actor_telegram_id: int | None,
    events: Iterable[LoggedEvent],
    actor_role: str = "person",
) -> None:
    rows = [
        {
            "person_id": person_id,
            "actor_telegram_id": actor_telegram_id,
            "actor_role": actor_role,
            "direction": event.direction,
            "kind": event.kind,
            "step": event.step,
            "body": event.body,
            "detail": dict(event.detail),
        }
        for event in events
    ]
    # One executemany: ORM objects were flushed one INSERT each, to fetch ids nobody reads.
    if rows:
        await direct.execute(session, _LOG_EVENTS, rows)


async def log_undelivered(session: AsyncSession, *, person_id: int, error: str) -> None:
    """Note in the transcript that the replies logged before did not reach the person."""
    step = (await person_state(session, person_id=person_id)).step
    event = LoggedEvent("out", "undelivered", step, "", {"error": error[:200]})
    await log_events(session, person_id=person_id, actor_telegram_id=None, events=[event])


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
    provisioned_person_id: int | None = None


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
    person_id: int | None = None,
) -> str:
    """Store a new one-time code (only its hash is kept) and return the code itself."""
    code = new_code()
    session.add(
        LinkCode(
            code_hash=code_hash(code),
            person_id=person_id,
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
    expires = _aware(found.expires_at)
    if expires is None or expires <= utcnow():
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
        found.person_id,
    )


async def submit_plan(
    session: AsyncSession,
    *,
    person_id: int,
    summary: Mapping[str, Any],
    submitted_by_telegram_id: int | None,
) -> int:
    # A Core INSERT on the direct path: the ORM's flush cost about a million instructions,
    # a quarter of an update (bench/README.md, "Twentieth round").
    ((plan_id,),) = await direct.execute(
        session,
        _SUBMIT_PLAN,
        {
            "person_id": person_id,
            "status": "submitted",
            "budget_annual_pence": int(summary["budget_annual_pence"]),
            "planned_annual_pence": int(summary["planned_annual_pence"]),
            "management": str(summary.get("management", "")),
            "summary": dict(summary),
            "submitted_by_telegram_id": submitted_by_telegram_id,
        },
    )
    return int(plan_id)


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


# ---- codes typed in the chat: throttling --------------------------------------------------

CODE_WINDOW = timedelta(minutes=15)
CODE_FAILURES_ALLOWED = 5


async def codes_blocked(session: AsyncSession, *, telegram_user_id: int) -> bool:
    """Whether this Telegram user got too many codes wrong in the last 15 minutes."""
    failures = await session.scalar(
        select(func.count())
        .select_from(CodeAttempt)
        .where(
            CodeAttempt.telegram_user_id == telegram_user_id,
            CodeAttempt.succeeded.is_(False),
            CodeAttempt.attempted_at > utcnow() - CODE_WINDOW,
        )
    )
    return int(failures or 0) >= CODE_FAILURES_ALLOWED


async def record_code_attempt(
    session: AsyncSession, *, telegram_user_id: int, succeeded: bool
) -> None:
    session.add(CodeAttempt(telegram_user_id=telegram_user_id, succeeded=succeeded))
    await session.flush()


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite hands back naive datetimes
        return moment.replace(tzinfo=UTC)
    return moment


# ---- provisioning and carers ----------------------------------------------------------------


async def create_person(session: AsyncSession, *, display_name: str) -> int:
    """A person set up by staff, who has not talked to the assistant yet."""
    person = Person(display_name=display_name[:200], created_by_staff=True, conversation={})
    session.add(person)
    await session.flush()
    return person.id


async def merge_provisioned(session: AsyncSession, *, provisioned_id: int, person_id: int) -> None:
    """The person chatting redeemed the code staff made for `provisioned_id`: become one.

    The chatting person keeps their id and conversation; staff's name, budgets and carer
    links move to them, and the provisioned row goes, its audit chain closed.
    """
    if provisioned_id == person_id:
        return
    source = await session.get(Person, provisioned_id)
    target = await session.get_one(Person, person_id)
    if source is None or source.telegram_user_id is not None:
        return
    target.display_name = source.display_name or target.display_name
    target.created_by_staff = True
    for model in (Budget, CarerLink, LinkCode, Plan, HumanRequest, ErasureRequest):
        column = model.__table__.c.person_id
        await session.execute(
            sa_update(model).where(column == provisioned_id).values(person_id=person_id)
        )
    # The provisioned record's own audit chain (its carers' turns) is closed before its head
    # goes with the row: `audit.verify` expects no head for a closed chain.
    closing = audit.AuditEvent(
        "person",
        target.telegram_user_id or person_id,
        provisioned_id,
        audit.CHAIN_CLOSED,
        {"into": person_id},
    )
    await audit.record_all(session, [closing], person_chain=provisioned_id)
    await session.delete(source)
    await session.flush()


async def create_carer_invite(
    session: AsyncSession, *, person_id: int, scope: str, created_by: str, valid_for: timedelta
) -> str:
    code = new_code()
    session.add(
        CarerLink(
            person_id=person_id,
            scope=scope,
            invite_hash=code_hash(code),
            invite_expires_at=utcnow() + valid_for,
            created_by=created_by,
        )
    )
    await session.flush()
    return code


@dataclass(frozen=True, slots=True)
class CarerLinkView:
    id: int
    person_id: int
    person_name: str
    carer_id: int | None
    carer_name: str
    scope: str
    accepted: bool


async def accept_carer_invite(
    session: AsyncSession, *, code: str, carer_id: int
) -> CarerLinkView | None:
    link = await session.scalar(
        select(CarerLink).where(CarerLink.invite_hash == code_hash(code)).with_for_update()
    )
    if link is None or link.revoked_at is not None or link.accepted_at is not None:
        return None
    expires = _aware(link.invite_expires_at)
    if expires is None or expires <= utcnow() or link.person_id == carer_id:
        return None
    link.carer_id, link.accepted_at = carer_id, utcnow()
    carer = await session.get_one(Person, carer_id)
    carer.acting_for_id = link.person_id
    await session.flush()
    return await _link_view(session, link)


async def _link_view(session: AsyncSession, link: CarerLink) -> CarerLinkView:
    person = await session.get_one(Person, link.person_id)
    carer = await session.get(Person, link.carer_id) if link.carer_id else None
    return CarerLinkView(
        link.id,
        link.person_id,
        person.display_name,
        link.carer_id,
        carer.display_name if carer else "",
        link.scope,
        link.accepted_at is not None,
    )


async def carer_links(session: AsyncSession, *, person_id: int) -> list[CarerLinkView]:
    """The person's carers and open invites (not revoked, not expired unused)."""
    rows = await session.scalars(
        select(CarerLink)
        .where(CarerLink.person_id == person_id, CarerLink.revoked_at.is_(None))
        .order_by(CarerLink.id)
    )
    now = utcnow()
    return [
        await _link_view(session, link)
        for link in rows
        if link.accepted_at is not None or (_aware(link.invite_expires_at) or now) > now
    ]


async def revoke_carer(session: AsyncSession, *, person_id: int, link_id: int) -> str | None:
    link = await session.get(CarerLink, link_id, with_for_update=True)
    if link is None or link.person_id != person_id or link.revoked_at is not None:
        return None
    link.revoked_at = utcnow()
    await session.flush()
    return (await _link_view(session, link)).carer_name


async def cared_for(session: AsyncSession, *, carer_id: int) -> list[CarerLinkView]:
    rows = await session.scalars(
        select(CarerLink)
        .where(
            CarerLink.carer_id == carer_id,
            CarerLink.revoked_at.is_(None),
            CarerLink.accepted_at.is_not(None),
        )
        .order_by(CarerLink.id)
    )
    return [await _link_view(session, link) for link in rows]


async def active_link(
    session: AsyncSession, *, person_id: int, carer_id: int
) -> CarerLinkView | None:
    for view in await cared_for(session, carer_id=carer_id):
        if view.person_id == person_id:
            return view
    return None


async def set_acting_for(
    session: AsyncSession, *, person_id: int, acting_for_id: int | None
) -> None:
    person = await session.get_one(Person, person_id)
    person.acting_for_id = acting_for_id
    await session.flush()


async def acting_for(session: AsyncSession, *, person_id: int) -> int | None:
    person = await session.get_one(Person, person_id)
    return person.acting_for_id


async def person_state(
    session: AsyncSession, *, person_id: int, for_update: bool = False
) -> PersonState:
    """The person's stored state; `for_update` locks their row (PostgreSQL) until the
    transaction ends, for a turn that will store a state made from this one."""
    return _state(
        await session.get_one(Person, person_id, populate_existing=True, with_for_update=for_update)
    )


# ---- data rights ------------------------------------------------------------------------------


async def request_erasure(
    session: AsyncSession, *, person_id: int, requested_by_telegram_id: int | None
) -> None:
    session.add(
        ErasureRequest(person_id=person_id, requested_by_telegram_id=requested_by_telegram_id)
    )
    await session.flush()


def _row(obj: Any, *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    skip = set(leave_out)
    values = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


async def export_person(session: AsyncSession, *, person_id: int) -> dict[str, Any]:
    """Everything stored about one person, and nothing about anyone else."""
    person = await session.get_one(Person, person_id)

    async def rows(model: Any, column: Any, **kwargs: Any) -> list[dict[str, Any]]:
        found = await session.scalars(select(model).where(column == person_id).order_by(model.id))
        return [_row(item, **kwargs) for item in found]

    links = [
        {
            "carer": view.carer_name if view.accepted else "(invite not used yet)",
            "scope": view.scope,
            "accepted": view.accepted,
        }
        for view in await carer_links(session, person_id=person_id)
    ]
    caring = [
        {"for": view.person_name, "scope": view.scope}
        for view in await cared_for(session, carer_id=person_id)
    ]
    return {
        "person": _row(person, leave_out=("conversation", "acting_for_id", "audit_last_hash")),
        "conversation_state": dict(person.conversation),
        "budgets": await rows(Budget, Budget.person_id),
        "plans": await rows(Plan, Plan.person_id),
        "messages_and_choices": await rows(ConversationEvent, ConversationEvent.person_id),
        "requests_for_staff": await rows(HumanRequest, HumanRequest.person_id),
        "erasure_requests": await rows(ErasureRequest, ErasureRequest.person_id),
        "link_codes": await rows(LinkCode, LinkCode.person_id, leave_out=("code_hash",)),
        "carers": links,
        "acting_as_carer_for": caring,
    }


async def erase_conversation_text(
    session: AsyncSession, *, person_id: int | None = None, older_than: datetime | None = None
) -> int:
    """Blank the text of logged messages (for one person, or older than a moment).

    Plans and the audit log stay: the audit log never held the text.
    """
    query = sa_update(ConversationEvent).where(ConversationEvent.body != "")
    if person_id is not None:
        query = query.where(ConversationEvent.person_id == person_id)
    if older_than is not None:
        query = query.where(ConversationEvent.created_at < older_than)
    result = await session.execute(query.values(body="", detail={"erased": True}))
    return int(getattr(result, "rowcount", 0) or 0)


async def erase_person(session: AsyncSession, *, person_id: int) -> int:
    """Handle an erasure request: the text of every message, the conversation state and the
    answers go; agreed plans, budgets' amounts and the audit log stay. Returns messages erased."""
    erased = await erase_conversation_text(session, person_id=person_id)
    person = await session.get_one(Person, person_id)
    person.conversation = {}
    person.step = "new"
    for budget in await session.scalars(select(Budget).where(Budget.person_id == person_id)):
        budget.answers = {}
    for request in await session.scalars(
        select(ErasureRequest).where(
            ErasureRequest.person_id == person_id, ErasureRequest.handled_at.is_(None)
        )
    ):
        request.handled_at = utcnow()
    await session.flush()
    return erased
