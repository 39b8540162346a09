"""What the staff dashboard reads and writes. Keyword-only, never commits.

Who may see whom is decided here (`person_ids_in_scope`, `can_see`), so every page and
the CSV export ask the same question the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, func, select, text
from sqlalchemy import column as sa_column
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard import security
from bot.storage import repositories
from bot.storage.models import (
    AuditEntry,
    Budget,
    CarerLink,
    ConversationEvent,
    ErasureRequest,
    HumanRequest,
    Person,
    Plan,
)
from bot.storage.search_index import index_new_messages
from bot.storage.staff import (
    ROLES,
    CaseloadAssignment,
    LoginAttempt,
    PlanDecision,
    StaffAccount,
    StaffSession,
)

LOGIN_WINDOW = timedelta(minutes=15)
FAILURES_PER_EMAIL = 5
FAILURES_PER_ADDRESS = 20
_WORD = re.compile(r"\w+", re.UNICODE)


class AccountError(ValueError):
    """A staff account cannot be made or changed as asked (one line, for people)."""


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def normalise_email(email: str) -> str:
    return email.strip().lower()


# ---- accounts ----------------------------------------------------------------------------


async def add_staff(session: AsyncSession, *, email: str, role: str, password: str) -> int:
    email = normalise_email(email)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if (problem := security.password_problem(password)) is not None:
        raise AccountError(f"the password {problem}")
    if await staff_by_email(session, email=email) is not None:
        raise AccountError(f"there is already an account for {email}")
    account = StaffAccount(
        email=email, role=role, password_hash=security.hash_password(password), active=True
    )
    session.add(account)
    await session.flush()
    return account.id


async def staff_by_email(session: AsyncSession, *, email: str) -> StaffAccount | None:
    return await session.scalar(
        select(StaffAccount).where(StaffAccount.email == normalise_email(email))
    )


async def all_staff(session: AsyncSession) -> list[StaffAccount]:
    return list(await session.scalars(select(StaffAccount).order_by(StaffAccount.email)))


async def set_active(session: AsyncSession, *, staff_id: int, active: bool, now: datetime) -> None:
    account = await session.get_one(StaffAccount, staff_id)
    account.active = active
    if not active:
        await end_sessions(session, staff_id=staff_id, now=now)


# ---- signing in --------------------------------------------------------------------------


async def login_blocked(session: AsyncSession, *, email: str, remote: str, now: datetime) -> bool:
    """Too many recent failures for this email, or from this address."""
    since = now - LOGIN_WINDOW

    async def failures(*where: Any) -> int:
        found = await session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > since, *where)
        )
        return int(found or 0)

    if await failures(LoginAttempt.email == normalise_email(email)) >= FAILURES_PER_EMAIL:
        return True
    return bool(remote) and await failures(LoginAttempt.remote == remote) >= FAILURES_PER_ADDRESS


async def record_login_attempt(
    session: AsyncSession, *, email: str, remote: str, succeeded: bool, now: datetime
) -> None:
    session.add(
        LoginAttempt(
            email=normalise_email(email)[:254],
            remote=remote[:64],
            succeeded=succeeded,
            attempted_at=now,
        )
    )
    await session.flush()


async def start_session(session: AsyncSession, *, staff_id: int, now: datetime) -> str:
    """A new session (a fresh token every login); returns the token for the cookie."""
    token = security.new_token()
    session.add(
        StaffSession(
            token_hash=security.token_hash(token),
            staff_id=staff_id,
            created_at=now,
            last_seen_at=now,
        )
    )
    await session.flush()
    return token


async def end_session(session: AsyncSession, *, token: str, now: datetime) -> int | None:
    """End the session of `token`; the staff id it belonged to, if it was live."""
    row = await session.scalar(
        select(StaffSession).where(StaffSession.token_hash == security.token_hash(token))
    )
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now
    return row.staff_id


async def end_sessions(session: AsyncSession, *, staff_id: int, now: datetime) -> None:
    for row in await session.scalars(
        select(StaffSession).where(
            StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None)
        )
    ):
        row.ended_at = now


async def signed_in(
    session: AsyncSession, *, token: str, now: datetime, idle: timedelta, longest: timedelta
) -> StaffAccount | None:
    """The active account behind a live session token; ends sessions that timed out."""
    if not token:
        return None
    row = await session.scalar(
        select(StaffSession).where(StaffSession.token_hash == security.token_hash(token))
    )
    if row is None or row.ended_at is not None:
        return None
    if now - aware(row.last_seen_at) > idle or now - aware(row.created_at) > longest:
        row.ended_at = now
        return None
    account = await session.get(StaffAccount, row.staff_id)
    if account is None or not account.active:
        row.ended_at = now
        return None
    row.last_seen_at = now
    return account


# ---- who may see whom ----------------------------------------------------------------------


def sees_everyone(staff: StaffAccount) -> bool:
    return staff.role == "manager"


async def can_see(session: AsyncSession, *, staff: StaffAccount, person_id: int) -> bool:
    if sees_everyone(staff):
        return True
    if staff.role != "caseworker":
        return False
    found = await session.scalar(
        select(CaseloadAssignment.id).where(
            CaseloadAssignment.staff_id == staff.id, CaseloadAssignment.person_id == person_id
        )
    )
    return found is not None


def _in_scope(staff: StaffAccount, person_id: Any) -> Any:
    """A WHERE clause limiting `person_id` to what `staff` may see."""
    if sees_everyone(staff):
        return person_id.is_not(None)
    if staff.role != "caseworker":
        return false()  # admins manage accounts, not people
    return person_id.in_(
        select(CaseloadAssignment.person_id).where(CaseloadAssignment.staff_id == staff.id)
    )


async def assign(session: AsyncSession, *, staff_id: int, person_id: int) -> bool:
    """Put a person on a caseworker's caseload; False if already there."""
    found = await session.scalar(
        select(CaseloadAssignment.id).where(
            CaseloadAssignment.staff_id == staff_id, CaseloadAssignment.person_id == person_id
        )
    )
    if found is not None:
        return False
    session.add(CaseloadAssignment(staff_id=staff_id, person_id=person_id))
    await session.flush()
    return True


async def caseworkers_of(session: AsyncSession, *, person_id: int) -> list[str]:
    rows = await session.scalars(
        select(StaffAccount.email)
        .join(CaseloadAssignment, CaseloadAssignment.staff_id == StaffAccount.id)
        .where(CaseloadAssignment.person_id == person_id)
        .order_by(StaffAccount.email)
    )
    return list(rows)


# ---- the caseload --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    person_id: int
    name: str
    step: str
    last_activity: datetime | None
    plan_status: str  # "none" when no plan was submitted yet
    flags: tuple[str, ...]


async def caseload(session: AsyncSession, *, staff: StaffAccount) -> list[CaseloadRow]:
    people = list(
        await session.scalars(select(Person).where(_in_scope(staff, Person.id)).order_by(Person.id))
    )
    ids = [p.id for p in people]
    if not ids:
        return []
    last = dict(
        (
            await session.execute(
                select(ConversationEvent.person_id, func.max(ConversationEvent.created_at))
                .where(ConversationEvent.person_id.in_(ids))
                .group_by(ConversationEvent.person_id)
            )
        ).all()
    )
    latest: dict[int, Plan] = {}
    for submitted in await session.scalars(
        select(Plan).where(Plan.person_id.in_(ids)).order_by(Plan.id)
    ):
        latest[submitted.person_id] = submitted
    waiting = set(
        await session.scalars(
            select(HumanRequest.person_id).where(
                HumanRequest.person_id.in_(ids), HumanRequest.handled_at.is_(None)
            )
        )
    )
    erasing = set(
        await session.scalars(
            select(ErasureRequest.person_id).where(
                ErasureRequest.person_id.in_(ids), ErasureRequest.handled_at.is_(None)
            )
        )
    )
    with_carers = set(
        await session.scalars(
            select(CarerLink.person_id).where(
                CarerLink.person_id.in_(ids),
                CarerLink.accepted_at.is_not(None),
                CarerLink.revoked_at.is_(None),
            )
        )
    )
    rows = []
    for person in people:
        plan = latest.get(person.id)
        flags = []
        if person.id in waiting:
            flags.append("asked for a person")
        if person.id in erasing:
            flags.append("erasure requested")
        if person.id in with_carers:
            flags.append("has a carer")
        if plan is not None and plan.planned_annual_pence > plan.budget_annual_pence:
            flags.append("over budget")
        if plan is not None and any(i.get("needs_approval") for i in plan.summary.get("items", [])):
            flags.append("needs panel approval")
        moment = last.get(person.id)
        rows.append(
            CaseloadRow(
                person.id,
                person.display_name or f"Person {person.id}",
                person.step,
                aware(moment) if moment is not None else None,
                plan.status if plan is not None else "none",
                tuple(flags),
            )
        )
    return rows


# ---- one person ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonRecord:
    person: Person
    budget: Budget | None
    explanation: list[dict[str, Any]]
    goals: list[dict[str, Any]]
    plans: list[Plan]
    carers: list[repositories.CarerLinkView]
    caseworkers: list[str]
    language: str


def conversation_language(person: Person) -> str:
    language = str(person.conversation.get("language") or person.language or "en")
    return language if language in ("en", "cy") else "en"


async def person_record(session: AsyncSession, *, person_id: int) -> PersonRecord | None:
    person = await session.get(Person, person_id)
    if person is None:
        return None
    budget = await session.scalar(
        select(Budget).where(Budget.person_id == person_id).order_by(Budget.id.desc()).limit(1)
    )
    chat_budget = person.conversation.get("budget") or {}
    return PersonRecord(
        person=person,
        budget=budget,
        explanation=[line for line in chat_budget.get("lines", []) if isinstance(line, dict)],
        goals=[g for g in person.conversation.get("goals", []) if isinstance(g, dict)],
        plans=await repositories.plans_of(session, person_id=person_id),
        carers=await repositories.carer_links(session, person_id=person_id),
        caseworkers=await caseworkers_of(session, person_id=person_id),
        language=conversation_language(person),
    )


# ---- the transcript ------------------------------------------------------------------------


def search_terms(query: str) -> list[str]:
    """The words of a search, as both databases' indexes split text."""
    return _WORD.findall(query.lower())[:10]


def _matching(session: AsyncSession, terms: Sequence[str]) -> Any:
    """A clause: the event's text has every term (through the full-text index)."""
    if session.get_bind().dialect.name == "sqlite":
        match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
        ids = (
            text("SELECT rowid FROM conversation_events_fts WHERE conversation_events_fts MATCH :q")
            .bindparams(q=match)
            .columns(sa_column("rowid"))
        )
        return ConversationEvent.id.in_(ids)
    # The same expression as the GIN index, so PostgreSQL can use it.
    return text(
        "to_tsvector('simple', conversation_events.body) @@ plainto_tsquery('simple', :q)"
    ).bindparams(q=" ".join(terms))


@dataclass(frozen=True, slots=True)
class TranscriptPage:
    events: list[ConversationEvent]
    total: int
    page: int
    pages: int
    terms: list[str] = field(default_factory=list)


async def transcript(
    session: AsyncSession, *, person_id: int, query: str = "", page: int = 1, per_page: int = 50
) -> TranscriptPage:
    """One page of a person's transcript (oldest first), only messages with every word of
    `query` when it has any; a page past the last shows the last.

    The page and the number of messages come from one statement (a window count): a
    search goes through the full-text index once, not once for each (bench/README.md,
    "Twelfth round").
    """
    terms = search_terms(query)
    where: list[Any] = [ConversationEvent.person_id == person_id]
    if terms:
        # Messages of the last moments may still wait for the SQLite index: add them first.
        await index_new_messages(session)
        where.append(_matching(session, terms))
    page = max(1, page)
    events, total = await _transcript_page(session, where, page=page, per_page=per_page)
    if not events and page > 1:  # past the last page (an old link): count, show the last
        matching = await session.scalar(
            select(func.count()).select_from(ConversationEvent).where(*where)
        )
        page = _page_count(int(matching or 0), per_page)
        events, total = await _transcript_page(session, where, page=page, per_page=per_page)
    return TranscriptPage(events, total, page, _page_count(total, per_page), terms)


def _page_count(total: int, per_page: int) -> int:
    """Pages for `total` events, `per_page` to a page; an empty transcript has one."""
    return max(1, -(-total // per_page))


async def _transcript_page(
    session: AsyncSession, where: Sequence[Any], *, page: int, per_page: int
) -> tuple[list[ConversationEvent], int]:
    """The page's events, and how many events match in all (0 when the page is empty)."""
    rows = (
        await session.execute(
            select(ConversationEvent, func.count().over())
            .where(*where)
            .order_by(ConversationEvent.created_at, ConversationEvent.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    return [event for event, _ in rows], (rows[0][1] if rows else 0)


# ---- plans and decisions ---------------------------------------------------------------------


async def plan_of(session: AsyncSession, *, person_id: int, plan_id: int) -> Plan | None:
    plan = await session.get(Plan, plan_id)
    return plan if plan is not None and plan.person_id == person_id else None


async def decisions_of(session: AsyncSession, *, plan_id: int) -> list[tuple[PlanDecision, str]]:
    rows = await session.execute(
        select(PlanDecision, StaffAccount.email)
        .outerjoin(StaffAccount, StaffAccount.id == PlanDecision.staff_id)
        .where(PlanDecision.plan_id == plan_id)
        .order_by(PlanDecision.id)
    )
    return [(decision, email or "(account removed)") for decision, email in rows.all()]


async def decide(
    session: AsyncSession, *, plan: Plan, staff_id: int, approve: bool, comment: str, now: datetime
) -> PlanDecision:
    decision = PlanDecision(
        plan_id=plan.id,
        staff_id=staff_id,
        decision="approved" if approve else "returned",
        comment=comment,
        created_at=now,
    )
    plan.status = decision.decision
    plan.decided_at = now
    plan.decision_comment = comment
    session.add(decision)
    await session.flush()
    return decision


# ---- the queue, the audit log and the exports ------------------------------------------------


async def open_requests(
    session: AsyncSession, *, staff: StaffAccount
) -> list[tuple[HumanRequest, str]]:
    rows = await session.execute(
        select(HumanRequest, Person.display_name)
        .join(Person, Person.id == HumanRequest.person_id)
        .where(HumanRequest.handled_at.is_(None), _in_scope(staff, HumanRequest.person_id))
        .order_by(HumanRequest.created_at, HumanRequest.id)
    )
    return [(request, name) for request, name in rows.all()]


async def audit_rows(
    session: AsyncSession, *, person_id: int | None, before: int | None, limit: int = 50
) -> list[AuditEntry]:
    query: Select[tuple[AuditEntry]] = select(AuditEntry)
    if person_id is not None:
        query = query.where(AuditEntry.subject_person_id == person_id)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


async def plans_for_export(session: AsyncSession, *, staff: StaffAccount) -> list[tuple[Plan, str]]:
    rows = await session.execute(
        select(Plan, Person.display_name)
        .join(Person, Person.id == Plan.person_id)
        .where(_in_scope(staff, Plan.person_id))
        .order_by(Plan.id)
    )
    return [(plan, name) for plan, name in rows.all()]


async def choices_for_export(
    session: AsyncSession, *, staff: StaffAccount
) -> list[ConversationEvent]:
    return list(
        await session.scalars(
            select(ConversationEvent)
            .where(
                ConversationEvent.direction == "choice",
                _in_scope(staff, ConversationEvent.person_id),
            )
            .order_by(ConversationEvent.id)
        )
    )
