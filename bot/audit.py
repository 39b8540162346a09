"""The append-only, tamper-evident audit log: who did what to whose record.

Each row carries a SHA-256 over its own content and the previous row's hash, so editing,
deleting or inserting a row breaks the chain from that row on; `verify` names the first
broken row. The newest hash is also kept in `audit_head`, whose single row is locked while
a row is appended: appends are serialised on SQLite and PostgreSQL alike, and removing the
newest rows is noticed too. Rows never hold message text: a digest stands in for it.

On PostgreSQL an update's rows are appended in one statement (lock the head, insert the
rows hashed in turn by sha256() in the database, move the head): one round trip instead of
three, so the head is held for less time, and each hash is the one `entry_hash` gives
(`verify` recomputes it in Python).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import direct
from bot.storage.models import AuditEntry, AuditHead, table_of, utcnow

GENESIS = "0" * 64
HEAD_ID = 1
BATCH = 2000


def digest(text: str) -> str:
    """A stand-in for personal text in the log: equal texts give equal digests."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def safe_value(value: Any) -> Any:
    """Numbers, booleans and short codes as they are; any other text as its digest."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value if len(value) <= 32 and value.replace("_", "").isalnum() else digest(value)
    if type(value) is dict or isinstance(value, Mapping):  # a dict without the ABC's check
        return {str(k): safe_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_value(v) for v in value]
    return digest(str(value))


def _moment(value: datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL aware UTC: both hash the same.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def hashed_after_prev(
    *,
    created_at: datetime,
    actor_kind: str,
    actor_id: str,
    subject_person_id: int | None,
    action: str,
    detail: Mapping[str, Any],
) -> str:
    """The text a row's hash covers after its previous hash, PostgreSQL's part (see below)."""
    return json.dumps(
        [_moment(created_at), actor_kind, actor_id, subject_person_id, action, detail],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )[1:]


def entry_hash(*, prev_hash: str, **entry: Any) -> str:
    """SHA-256 over the JSON array [prev_hash, moment, actor_kind, actor_id, subject, action,
    detail]; the previous hash is 64 hex digits, which JSON writes as they are."""
    content = '["' + prev_hash + '",' + hashed_after_prev(**entry)
    return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing to append: who (`actor_kind`, `actor_id`) did `action` to whose record."""

    actor_kind: str
    actor_id: str | int
    subject_person_id: int | None
    action: str
    detail: Mapping[str, Any] | None = None


async def record(
    session: AsyncSession,
    *,
    actor_kind: str,
    actor_id: str | int,
    subject_person_id: int | None,
    action: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one row (in the caller's transaction; it holds the chain until it commits)."""
    await record_all(session, [AuditEvent(actor_kind, actor_id, subject_person_id, action, detail)])


def _rows_of(events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    created_at = utcnow()
    return [
        {
            "created_at": created_at,
            "actor_kind": event.actor_kind,
            "actor_id": str(event.actor_id),
            "subject_person_id": event.subject_person_id,
            "action": event.action,
            "detail": safe_value(dict(event.detail or {})),
        }
        for event in events
    ]


def append_params(events: Sequence[AuditEvent]) -> dict[str, Any]:
    """The parameters for appending `events` (PostgreSQL): `APPEND_ONE`'s for one event,
    `APPEND_MANY`'s (one array per column) for more."""
    entries = _rows_of(events)
    for entry in entries:
        entry["after_prev"] = hashed_after_prev(**entry)
    params = {"p_head": HEAD_ID, "p_audit_created_at": entries[0]["created_at"]}
    if len(entries) == 1:
        params.update({f"p_audit_{name}": entries[0][name] for name in _GIVEN})
    else:
        params.update({f"p_audit_{name}s": [entry[name] for entry in entries] for name in _GIVEN})
    return params


def append_statement(events: Sequence[AuditEvent]) -> Any:
    """`APPEND_ONE` or `APPEND_MANY`, as `append_params` gives parameters for `events`."""
    return APPEND_ONE if len(events) == 1 else APPEND_MANY


async def record_all(session: AsyncSession, events: Sequence[AuditEvent]) -> None:
    """Append rows in order, locking the chain's head once for all of them."""
    if not events:
        return
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql and await direct.execute(
        session, append_statement(events), append_params(events)
    ):
        return
    # SQLite, or a log without its head (the migration makes it; its row was deleted): the
    # head locked, the rows hashed here and inserted, the head moved (or made again).
    await _append(session, _rows_of(events))


async def _append(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    # The UPDATE comes first so the head is locked before it is read, on SQLite too; it
    # reads the head in the same statement (RETURNING). Core statements built once, and one
    # INSERT for every row: the ORM's unit of work and a round trip per row cost more than
    # the rest of an update together.
    locked = await direct.execute(session, _LOCK_HEAD, {"p_head": HEAD_ID})
    prev_hash = str(locked[0][0]) if locked else GENESIS
    rows = []
    for row in entries:
        row_hash = entry_hash(prev_hash=prev_hash, **row)
        rows.append({**row, "prev_hash": prev_hash, "hash": row_hash})
        prev_hash = row_hash
    appended = await direct.execute(session, _APPEND, rows)
    last_id = appended[-1][0]
    head = {"p_head": HEAD_ID, "p_last_id": last_id, "p_last_hash": prev_hash}
    await direct.execute(session, _MOVE_HEAD if locked else _NEW_HEAD, head)


_entries, _head = table_of(AuditEntry), table_of(AuditHead)
_LOCK_HEAD = (
    update(_head)
    .where(_head.c.id == bindparam("p_head"))
    .values(last_id=_head.c.last_id)
    .returning(_head.c.last_hash)
)
_APPEND = insert(_entries).returning(_entries.c.id, sort_by_parameter_order=True)
_NEW_HEAD = insert(_head).values(
    id=bindparam("p_head"), last_id=bindparam("p_last_id"), last_hash=bindparam("p_last_hash")
)
_MOVE_HEAD = (
    update(_head)
    .where(_head.c.id == bindparam("p_head"))
    .values(last_id=bindparam("p_last_id"), last_hash=bindparam("p_last_hash"))
)


# What the caller gives for an appended row, with the types its parameters are sent as:
# the stored columns, then the text the row's hash covers after the previous hash
# (`hashed_after_prev`). No lengths: a parameter cast to VARCHAR(16) is cut short
# silently, where the column refuses a longer value.
_GIVEN = {
    "actor_kind": String,
    "actor_id": String,
    "subject_person_id": BigInteger,
    "action": String,
    "detail": JSON,
    "after_prev": Text,
}
_STORED = [_entries.c[name] for name in _GIVEN if name != "after_prev"]
_INSERTED = [_entries.c.created_at, *_STORED, _entries.c.prev_hash, _entries.c.hash]


def _sql(text: str, kind: Any = Text) -> Any:
    """A constant as SQL text (`text` a literal of ours, never a value from outside)."""
    return literal_column(text, kind)


def _hash_after(prev_hash: Any, after_prev: Any) -> Any:
    """SQL for a row's hash: sha256 over the text `entry_hash` hashes, in hex."""
    # Constants written into the SQL, not sent as parameters: each parameter costs the
    # client a little on every append.
    hashed = _sql("'[\"'") + prev_hash + _sql("'\",'") + after_prev
    return func.encode(func.sha256(func.convert_to(hashed, _sql("'UTF8'"))), _sql("'hex'"))


def _appending(rows: Callable[[Any], Any]) -> Any:
    """PostgreSQL: lock the head and read its hash, insert `rows(head)`, move the head.

    One statement: the head is read FOR UPDATE (under READ COMMITTED a concurrent append
    is waited for and its hash read); `rows(head)` selects the rows to insert after it,
    their hashes made in the database, in order (so their ids follow the chain); the head
    moves to the last. Nothing comes back, and nothing is written, while the log has no
    head.
    """
    head_id = bindparam("p_head", type_=Integer)
    head = (
        select(_head.c.last_hash).where(_head.c.id == head_id).with_for_update().cte("locked_head")
    )
    appended = (
        insert(_entries)
        .from_select(_INSERTED, rows(head))
        .returning(_entries.c.id, _entries.c.hash)
        .cte("appended")
    )
    last = select(appended).order_by(appended.c.id.desc()).limit(_sql("1")).subquery("last")
    # The head is found by its id alone: its row in the statement's snapshot may be the
    # one before a concurrent append, which PostgreSQL swaps for the newest (locked by us)
    # only if the old one matched. (A condition on its hash skipped the move, and the
    # row was appended twice.)
    return (
        update(_head)
        .where(_head.c.id == head_id, exists(appended.select()))
        .values(
            last_id=select(last.c.id).scalar_subquery(),
            last_hash=select(last.c.hash).scalar_subquery(),
        )
        .returning(_head.c.last_id)
    )


def _created_at() -> Any:
    return bindparam("p_audit_created_at", type_=_entries.c.created_at.type)


def _one_row(head: Any) -> Any:
    """The one row, from one parameter per column (`p_audit_<column>`), after the head."""
    given: dict[str, Any] = {
        name: bindparam(f"p_audit_{name}", type_=kind) for name, kind in _GIVEN.items()
    }
    return select(
        _created_at(),
        *(given[column.key] for column in _STORED),
        head.c.last_hash,
        _hash_after(head.c.last_hash, given["after_prev"]),
    ).select_from(head)


def _many_rows(head: Any) -> Any:
    """The rows in order, from one array per column (`p_audit_<column>s`): a recursive CTE
    hashes them, row 0 being the head and row n given row n, hashed after row n - 1."""
    unnested = (
        func.unnest(
            *(bindparam(f"p_audit_{name}s", type_=ARRAY(kind)) for name, kind in _GIVEN.items())
        )
        .table_valued(*_GIVEN, with_ordinality="n")
        .render_derived(name="given_rows")
    )
    given = select(unnested).cte("given")
    start = select(
        cast(literal_column("0"), BigInteger).label("n"),
        cast(head.c.last_hash, Text).label("prev_hash"),
        cast(head.c.last_hash, Text).label("hash"),
    ).cte("chain", recursive=True)
    chain = start.union_all(
        select(given.c.n, start.c.hash, _hash_after(start.c.hash, given.c.after_prev)).join_from(
            start, given, given.c.n == start.c.n + _sql("1", BigInteger)
        )
    )
    return (
        select(
            _created_at(),
            *(given.c[column.key] for column in _STORED),
            chain.c.prev_hash,
            chain.c.hash,
        )
        .join_from(given, chain, chain.c.n == given.c.n)
        .order_by(given.c.n)
    )


# One row (most updates append one) costs less as plain parameters straight from the
# head: as arrays through the recursive CTE, 0.1 M more client instructions of an update's
# 1.4 M, and 60-90 us more of the server's time (bench/README.md, point 46).
APPEND_ONE = _appending(_one_row)
APPEND_MANY = _appending(_many_rows)


@dataclass(frozen=True, slots=True)
class Verification:
    checked: int
    first_broken_id: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None and self.problem is None


async def verify(session: AsyncSession) -> Verification:
    """Walk the chain from the first row; stop at the first row that does not hold."""
    expected_prev, checked, last_id, after = GENESIS, 0, 0, 0
    while True:
        rows = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(BATCH)
            )
        )
        if not rows:
            break
        for row in rows:
            if row.prev_hash != expected_prev:
                return Verification(
                    checked,
                    row.id,
                    f"row {row.id} does not follow the row before it "
                    "(a row was deleted or inserted before it)",
                )
            recomputed = entry_hash(
                prev_hash=row.prev_hash,
                created_at=row.created_at,
                actor_kind=row.actor_kind,
                actor_id=row.actor_id,
                subject_person_id=row.subject_person_id,
                action=row.action,
                detail=row.detail,
            )
            if recomputed != row.hash:
                return Verification(
                    checked, row.id, f"row {row.id} was changed after it was written"
                )
            expected_prev, last_id = row.hash, row.id
            checked += 1
        after = rows[-1].id
    head = await session.get(AuditHead, HEAD_ID)
    if head is not None and (head.last_hash != expected_prev or head.last_id != last_id):
        return Verification(
            checked,
            None,
            f"the newest rows after row {last_id} are missing "
            f"(the log's head points at row {head.last_id})",
        )
    return Verification(checked, None, None)
