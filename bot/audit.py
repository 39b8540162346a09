"""The append-only, tamper-evident audit log: who did what to whose record.

Each row carries a SHA-256 over its own content and the previous row's hash on its chain,
so editing, deleting or inserting a row breaks the chain from that row on; `verify` names
the first broken row. Rows never hold message text: a digest stands in for it.

There are two kinds of chain, and each keeps its newest hash so that removing its newest
rows is noticed too:
- a person's own chain holds the rows of the turns working on their plan (their own turns,
  and a carer's for them): the head is `people.audit_last_hash`, and the person's row is
  locked for the turn anyway, so people's turns never wait for each other's audit rows. A
  record that goes (merged into the person who redeemed its code) closes its chain with a
  last row (CHAIN_CLOSED), which stands for the head;
- the log-wide chain holds everything else (staff, the command line, the system, and every
  row written before revision 0006): the head is the single row of `audit_head`, locked
  while a row is appended.
Before 0006 every row was on the log-wide chain, and every audited update held its head
from its turn's statement to its commit: the updates of everyone, on every worker, queued
there (bench/README.md, "Seventeenth round").

On PostgreSQL an update's rows are appended in one statement (read and lock the head,
insert the rows hashed in turn by sha256() in the database, move the head): each hash is
the one `entry_hash` gives (`verify` recomputes it in Python).
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
from bot.storage.models import AuditEntry, AuditHead, Person, table_of, utcnow

GENESIS = "0" * 64
HEAD_ID = 1
BATCH = 2000
# The last row of a person's chain whose record goes (merged into the person who redeemed
# its code): `verify` then expects no head for it, and a new chain under the same id
# (SQLite gives a deleted row's id again) starts from GENESIS.
CHAIN_CLOSED = "record_merged"


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
    return _CANONICAL.encode(
        [_moment(created_at), actor_kind, actor_id, subject_person_id, action, detail]
    )[1:]


# What `json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)` makes,
# with its encoder made once (dumps makes one for every call with options).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    """Append one row to the log-wide chain (in the caller's transaction, which holds the
    chain until it commits)."""
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
    """The parameters for appending `events` (PostgreSQL): `APPEND_ONE`'s (or
    `person_appending(one=True)`'s) for one event, `APPEND_MANY`'s (one array per column)
    for more."""
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


async def record_all(
    session: AsyncSession, events: Sequence[AuditEvent], *, person_chain: int | None = None
) -> None:
    """Append rows in order, locking the chain's head once for all of them: the log-wide
    chain's, or with `person_chain` that person's own (their conversation's turns)."""
    if not events:
        return
    if person_chain is not None:
        await _append_to_person(session, person_chain, _rows_of(events))
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
    rows, last_hash = _chained(entries, str(locked[0][0]) if locked else GENESIS)
    appended = await direct.execute(session, _APPEND, rows)
    last_id = appended[-1][0]
    head = {"p_head": HEAD_ID, "p_last_id": last_id, "p_last_hash": last_hash}
    await direct.execute(session, _MOVE_HEAD if locked else _NEW_HEAD, head)


async def _append_to_person(
    session: AsyncSession, person_id: int, entries: list[dict[str, Any]]
) -> None:
    # As `_append`, with the person's row as the head: locked before it is read.
    locked = await direct.execute(session, _LOCK_PERSON_HEAD, {"p_person": person_id})
    if not locked:
        raise LookupError(f"no person {person_id} to append audit rows for")
    rows, last_hash = _chained(entries, locked[0][0] or GENESIS, chain_person_id=person_id)
    await direct.execute(session, _APPEND, rows)
    await direct.execute(
        session, _MOVE_PERSON_HEAD, {"p_person": person_id, "p_last_hash": last_hash}
    )


def _chained(
    entries: list[dict[str, Any]], prev_hash: str, **extra: Any
) -> tuple[list[dict[str, Any]], str]:
    """`entries` hashed in turn after `prev_hash`, as rows to insert (with `extra`), and
    the last one's hash."""
    rows = []
    for row in entries:
        row_hash = entry_hash(prev_hash=prev_hash, **row)
        rows.append({**row, **extra, "prev_hash": prev_hash, "hash": row_hash})
        prev_hash = row_hash
    return rows, prev_hash


_entries, _head, _people = table_of(AuditEntry), table_of(AuditHead), table_of(Person)
_LOCK_PERSON_HEAD = (
    update(_people)
    .where(_people.c.id == bindparam("p_person"))
    .values(audit_last_hash=_people.c.audit_last_hash)
    .returning(_people.c.audit_last_hash)
)
_MOVE_PERSON_HEAD = (
    update(_people)
    .where(_people.c.id == bindparam("p_person"))
    .values(audit_last_hash=bindparam("p_last_hash"))
)
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
_INSERTED = [
    _entries.c.created_at,
    *_STORED,
    _entries.c.prev_hash,
    _entries.c.hash,
    _entries.c.chain_person_id,
]


def _sql(text: str, kind: Any = Text) -> Any:
    """A constant as SQL text (`text` a literal of ours, never a value from outside)."""
    return literal_column(text, kind)


def _hash_after(prev_hash: Any, after_prev: Any) -> Any:
    """SQL for a row's hash: sha256 over the text `entry_hash` hashes, in hex."""
    # Constants written into the SQL, not sent as parameters: each parameter costs the
    # client a little on every append.
    hashed = _sql("'[\"'") + prev_hash + _sql("'\",'") + after_prev
    return func.encode(func.sha256(func.convert_to(hashed, _sql("'UTF8'"))), _sql("'hex'"))


def _appended(head: Any, rows: Callable[[Any], Any]) -> Any:
    """The INSERT of `rows(head)` as a CTE, returning each row's id and hash.

    `head` (a CTE of one row, read FOR UPDATE: under READ COMMITTED a concurrent append is
    waited for and its hash read) has the chain's newest hash as `last_hash` and the
    chain's person as `chain`; `rows(head)` selects the rows to insert after it, their
    hashes made in the database, in order (so their ids follow the chain).
    """
    return (
        insert(_entries)
        .from_select(_INSERTED, rows(head))
        .returning(_entries.c.id, _entries.c.hash)
        .cte("appended")
    )


def _appending(rows: Callable[[Any], Any]) -> Any:
    """PostgreSQL, the log-wide chain: lock the head and read its hash, insert `rows(head)`,
    move the head. One statement; nothing comes back, and nothing is written, while the log
    has no head.
    """
    head_id = bindparam("p_head", type_=Integer)
    head = (
        select(_head.c.last_hash, cast(_sql("NULL"), BigInteger).label("chain"))
        .where(_head.c.id == head_id)
        .with_for_update()
        .cte("locked_head")
    )
    appended = _appended(head, rows)
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


def person_appending(person_id: Any, *, one: bool) -> Any:
    """PostgreSQL, a person's turn: the rows appended to `person_id`'s own chain.

    The person's row is the head, read FOR UPDATE (the claim has locked it already when
    the person is the sender). Returns the newest appended row's hash (a scalar subquery
    over the `appended` CTE), which the turn's UPDATE of the person's row keeps as
    `audit_last_hash`: the head moves in the statement that saves the person's state, and
    no row is locked but the person's.
    Parameters as `append_params` gives them, with `one` for a single event.
    """
    head = (
        select(
            func.coalesce(_people.c.audit_last_hash, _sql(f"'{GENESIS}'")).label("last_hash"),
            cast(_people.c.id, BigInteger).label("chain"),
        )
        .where(_people.c.id == person_id)
        .with_for_update()
        .cte("person_head")
    )
    appended = _appended(head, _one_row if one else _many_rows)
    return select(appended.c.hash).order_by(appended.c.id.desc()).limit(_sql("1")).scalar_subquery()


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
        head.c.chain,
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
        head.c.chain,
    ).cte("chain", recursive=True)
    chain = start.union_all(
        select(
            given.c.n, start.c.hash, _hash_after(start.c.hash, given.c.after_prev), start.c.chain
        ).join_from(start, given, given.c.n == start.c.n + _sql("1", BigInteger))
    )
    return (
        select(
            _created_at(),
            *(given.c[column.key] for column in _STORED),
            chain.c.prev_hash,
            chain.c.hash,
            chain.c.chain,
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
    chains: int = 0  # the log-wide chain and each person's, with at least one row checked

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None and self.problem is None


def _chain_name(person_id: int | None) -> str:
    return "the log-wide chain" if person_id is None else f"person {person_id}'s chain"


# The walk's rows: columns, not ORM objects (making an object cost more than hashing the
# row; bench/README.md, "Eighteenth round"), a batch at a time in the order written.
_WALK = (
    select(
        _entries.c.id,
        _entries.c.prev_hash,
        _entries.c.hash,
        _entries.c.chain_person_id,
        _entries.c.created_at,
        _entries.c.actor_kind,
        _entries.c.actor_id,
        _entries.c.subject_person_id,
        _entries.c.action,
        _entries.c.detail,
    )
    .where(_entries.c.id > bindparam("p_after"))
    .order_by(_entries.c.id)
    .limit(BATCH)
)
_COUNT = select(func.count()).select_from(_entries)


async def verify(
    session: AsyncSession, *, progress: Callable[[int, int], None] | None = None
) -> Verification:
    """Walk every chain from its first row, all at once in the order rows were written;
    stop at the first row that does not hold, then check each chain's end against its head.

    `progress(checked, total)` is called after each batch of rows (`total` counted first).
    On PostgreSQL the count and the walk read one snapshot (REPEATABLE READ): people's
    turns commit in any order, so rows read batch by batch as they commit could skip one.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    total = int(await session.scalar(_COUNT) or 0) if progress is not None else 0
    # chain -> its newest row's id and hash; None for a closed chain (CHAIN_CLOSED)
    newest: dict[int | None, tuple[int, str | None]] = {}
    checked, after = 0, 0
    while rows := await direct.execute(session, _WALK, {"p_after": after}):
        for row_id, prev_hash, row_hash, chain, *entry in rows:
            expected_prev = newest[chain][1] if chain in newest else None
            if prev_hash != (expected_prev or GENESIS):
                return Verification(
                    checked,
                    row_id,
                    f"row {row_id} does not follow the row before it on {_chain_name(chain)} "
                    "(a row was deleted or inserted before it)",
                    len(newest),
                )
            created_at, actor_kind, actor_id, subject_person_id, action, detail = entry
            recomputed = entry_hash(
                prev_hash=prev_hash,
                created_at=created_at,
                actor_kind=actor_kind,
                actor_id=actor_id,
                subject_person_id=subject_person_id,
                action=action,
                detail=detail,
            )
            if recomputed != row_hash:
                return Verification(
                    checked, row_id, f"row {row_id} was changed after it was written", len(newest)
                )
            closes = chain is not None and action == CHAIN_CLOSED
            newest[chain] = (row_id, None if closes else row_hash)
            checked += 1
        after = rows[-1][0]
        if progress is not None:
            progress(checked, total)
    problem = await _heads_problem(session, newest)
    return Verification(checked, None, problem, len(newest))


async def _heads_problem(
    session: AsyncSession, newest: Mapping[int | None, tuple[int, str | None]]
) -> str | None:
    """What the heads say is missing: the newest rows of a chain whose head is further on,
    or of a person's chain whose record is gone and which was not closed."""
    last_id, last_hash = newest.get(None, (0, GENESIS))
    head = await session.get(AuditHead, HEAD_ID)  # None: its row was deleted (nothing to check)
    if head is not None and (head.last_hash != last_hash or head.last_id != last_id):
        return (
            f"the newest rows after row {last_id} are missing "
            f"(the log's head points at row {head.last_id})"
        )
    people = dict((await session.execute(select(Person.id, Person.audit_last_hash))).all())
    for person_id, person_head in people.items():
        last_id, newest_hash = newest.get(person_id, (0, None))
        if person_head != newest_hash:
            return (
                f"person {person_id}'s chain does not end where their record says: its newest "
                f"rows after row {last_id} are missing, or the record's head was changed"
            )
    for chain, (last_id, newest_hash) in newest.items():
        if chain is not None and chain not in people and newest_hash is not None:
            return (
                f"person {chain}'s record is gone but their chain was not closed: its newest "
                f"rows after row {last_id} may be missing"
            )
    return None
