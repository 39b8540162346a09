"""The update journal: every Telegram update_id received, so none is lost or handled twice.

A row is written when an update arrives (status "received", with its payload), and marked
"done" in the same transaction as the update's effect; a failure rolls the effect back and
leaves the row "failed", with its payload, for a retry and for staff to inspect. The
payload is dropped once the update is done: what the person said is in the conversation
log already. Functions take keyword-only arguments and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    bindparam,
    delete,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage import direct, repositories
from bot.storage.models import Base, Person, table_of, utcnow

RECEIVED = "received"
DONE = "done"
FAILED = "failed"
MAX_ATTEMPTS = 3


class TelegramUpdate(Base):
    """One update from Telegram, by its update_id, and how its handling went."""

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_status", "status"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class JournalEntry:
    update_id: int
    chat_id: int | None
    kind: str
    status: str
    attempts: int
    error: str | None
    payload: Mapping[str, Any] | None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {_clean(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def storable(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as every database stores it: halves of surrogate pairs and NULs replaced."""
    return dict(_clean(payload))


def _entry(row: TelegramUpdate) -> JournalEntry:
    return JournalEntry(
        row.update_id, row.chat_id, row.kind, row.status, row.attempts, row.error, row.payload
    )


async def entry(session: AsyncSession, *, update_id: int) -> JournalEntry | None:
    row = await session.get(TelegramUpdate, update_id, populate_existing=True)
    return None if row is None else _entry(row)


async def record_received(
    session: AsyncSession,
    *,
    update_id: int,
    chat_id: int | None,
    kind: str,
    payload: Mapping[str, Any],
) -> bool:
    """Keep an update that has just arrived; False if its update_id is known already."""
    if await session.get(TelegramUpdate, update_id) is not None:
        return False
    session.add(
        TelegramUpdate(
            update_id=update_id,
            chat_id=chat_id,
            kind=kind,
            status=RECEIVED,
            attempts=0,
            payload=storable(payload),
        )
    )
    await session.flush()
    return True


async def begin_handling(
    session: AsyncSession,
    *,
    update_id: int,
    chat_id: int | None,
    kind: str,
    advisory_lock: int | None = None,
    telegram_user_id: int | None = None,
) -> bool:
    """Claim an update for handling in this transaction; False if it was handled already.

    Call with the chat's lock held, or (PostgreSQL) pass its key as `advisory_lock`: the
    claim then takes the transaction-level advisory lock itself, before it looks for the
    row, in the same round trip. The row becomes "done" when the transaction commits.

    `telegram_user_id` (PostgreSQL): the same statement also reads and locks that person's
    row, once the chat's lock is held, and hands it to `repositories.get_or_create_person`
    in this transaction: the update's next round trip, saved.
    """
    # One statement: insert the claim, or take over a received or failed row; a done row
    # is left alone and nothing comes back. (A read, then a write, cost two round trips
    # and an ORM object on every update.) The statements are built once per database.
    dialect = session.get_bind().dialect.name
    params = {"p_update_id": update_id, "p_chat_id": chat_id, "p_kind": kind, "p_now": utcnow()}
    if advisory_lock is not None:
        if dialect != "postgresql":
            raise ValueError(f"advisory locks are PostgreSQL's; this database is {dialect}")
        params["p_lock"] = advisory_lock
    if dialect == "postgresql" and telegram_user_id is not None:
        params["p_telegram_user_id"] = telegram_user_id
        claim = _claim_with_person_statement(advisory_lock=advisory_lock is not None)
        (row,) = await direct.execute(session, claim, params)
        if row[1] is not None:
            repositories.keep_locked_person(session, repositories.person_of(row[1:]))
        return row[0] is not None
    claim = _LOCKING_CLAIM if advisory_lock is not None else _CLAIMS[dialect]
    return bool(await direct.execute(session, claim, params))


def _claim_statement(upsert: Any, *, advisory_lock: bool = False) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE ... RETURNING, with `upsert` a dialect's insert.

    With `advisory_lock` (PostgreSQL): INSERT ... SELECT from a row that takes
    pg_advisory_xact_lock(p_lock) first, so the row is inserted or found only once the lock
    is held; the conflict check and DO UPDATE see the newest committed row, whatever the
    statement's snapshot.
    """
    if advisory_lock:
        return _taking_over(_claim_from(upsert, _chat_lock(advisory_lock=True)))
    return _taking_over(upsert(_updates).values(_claim_values()))


def _claim_values() -> dict[str, Any]:
    now = bindparam("p_now", type_=DateTime(timezone=True))
    return {
        "update_id": bindparam("p_update_id", type_=BigInteger),
        "chat_id": bindparam("p_chat_id", type_=BigInteger),
        "kind": bindparam("p_kind", type_=String),
        "status": literal(DONE, String),
        "attempts": literal(1, Integer),
        "received_at": now,
        "finished_at": now,
    }


def _claim_from(upsert: Any, held: Any) -> Any:
    """The claim's INSERT ... SELECT from the one-row CTE `held` (made before the row is)."""
    values = _claim_values()
    return upsert(_updates).from_select(list(values), select(*values.values()).select_from(held))


def _chat_lock(*, advisory_lock: bool) -> Any:
    """A one-row CTE; with `advisory_lock`, making it takes pg_advisory_xact_lock(p_lock)."""
    if advisory_lock:
        held = func.pg_advisory_xact_lock(bindparam("p_lock", type_=BigInteger))
        return select(held.label("held")).cte("chat_lock")
    return select(literal(True).label("held")).cte("chat_lock")


def _taking_over(insert: Any) -> Any:
    """The claim's conflict clause: a received or failed row is taken over, a done one kept."""
    return insert.on_conflict_do_update(
        index_elements=[_updates.c.update_id],
        set_={
            "status": DONE,
            "attempts": func.coalesce(_updates.c.attempts, 0) + 1,
            "error": None,
            "payload": None,
            "finished_at": bindparam("p_now", type_=DateTime(timezone=True)),
        },
        where=_updates.c.status != DONE,
    ).returning(_updates.c.update_id)


@cache  # built on first use: models imports this module before repositories is whole
def _claim_with_person_statement(*, advisory_lock: bool) -> Any:
    """PostgreSQL: the claim, and the claimant's person row read FOR UPDATE, in one row:

        WITH chat_lock AS (SELECT pg_advisory_xact_lock(..) AS held),
             claimed AS (INSERT INTO telegram_updates .. SELECT .. FROM chat_lock
                         ON CONFLICT .. RETURNING update_id),
             me AS (SELECT people.id, .. FROM people JOIN chat_lock ON true
                    WHERE people.telegram_user_id = .. FOR UPDATE OF people)
        SELECT (SELECT update_id FROM claimed), me.* FROM chat_lock LEFT JOIN me ON true

    The person's row is joined to the lock's row, so it is locked only once the chat's
    lock is held (the order every update takes them in: no deadlock), and FOR UPDATE
    gives its newest committed version whatever the statement's snapshot. A person made
    by another worker after that snapshot is not seen: get_or_create_person then reads
    again, in a statement of its own.
    """
    held = _chat_lock(advisory_lock=advisory_lock)
    claimed = _taking_over(_claim_from(postgresql.insert, held)).cte("claimed")
    people = table_of(Person)
    me = (
        select(*repositories.PERSON_COLUMNS)
        .join_from(people, held, true())
        .where(people.c.telegram_user_id == bindparam("p_telegram_user_id", type_=BigInteger))
        .with_for_update(of=people)
        .cte("me")
    )
    return select(
        select(claimed.c.update_id).scalar_subquery().label("claimed"), *me.c
    ).select_from(held.outerjoin(me, true()))


_updates = table_of(TelegramUpdate)
_CLAIMS = {
    "postgresql": _claim_statement(postgresql.insert),
    "sqlite": _claim_statement(sqlite.insert),
}
_LOCKING_CLAIM = _claim_statement(postgresql.insert, advisory_lock=True)


async def record_failure(
    session: AsyncSession,
    *,
    update_id: int,
    chat_id: int | None,
    kind: str,
    payload: Mapping[str, Any],
    error: str,
) -> int:
    """Keep a failed update with its payload for a retry; returns how many attempts it had."""
    row = await session.get(TelegramUpdate, update_id, with_for_update=True)
    if row is None:
        row = TelegramUpdate(update_id=update_id, chat_id=chat_id, kind=kind, attempts=0)
        session.add(row)
    row.status = FAILED
    row.attempts = (row.attempts or 0) + 1
    row.error = error[:200]
    row.payload = storable(payload)
    row.finished_at = utcnow()
    await session.flush()
    return row.attempts


async def note_undelivered(session: AsyncSession, *, update_id: int, error: str) -> None:
    """Note on a done update that a reply to it was not delivered (it is not handled again)."""
    table = table_of(TelegramUpdate)
    await session.execute(
        update(table)
        .where(table.c.update_id == update_id)
        .values(error=f"reply not delivered: {error}"[:200])
    )


async def unfinished(session: AsyncSession, *, limit: int = 100) -> list[JournalEntry]:
    """Updates received but not done (interrupted, or failed fewer than MAX_ATTEMPTS times)."""
    rows = await session.scalars(
        select(TelegramUpdate)
        .where(
            TelegramUpdate.status.in_((RECEIVED, FAILED)),
            TelegramUpdate.attempts < MAX_ATTEMPTS,
        )
        .order_by(TelegramUpdate.update_id)
        .limit(limit)
    )
    return [_entry(row) for row in rows]


async def prune(session: AsyncSession, *, older_than: timedelta) -> int:
    """Forget done updates older than `older_than` (Telegram re-sends for 24 h at most).

    Telegram picks update ids at random again after a week of silence: old ids must go.
    """
    result = await session.execute(
        delete(TelegramUpdate).where(
            TelegramUpdate.status == DONE, TelegramUpdate.finished_at < utcnow() - older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
