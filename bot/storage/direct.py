"""The statements every update runs, straight on the inline SQLite driver.

An update runs the same few short statements: its journal claim, the person's lookup, the
saved state, the transcript rows and the audit rows. SQLite runs each in 5-20 us, but
SQLAlchemy's asyncio session takes 60-300 us around it (a greenlet, the session's execution
path, the compiled-statement cache, the result object): the five calls were a fifth of an
update's time (see bench/README.md, "Fifth round"). On a session bound to the inline SQLite
driver, `execute` runs them on the session's own sqlite3 connection, in its transaction.
On PostgreSQL (asyncpg) it runs them on the session's asyncpg connection in the same way
(a statement took 100 us of the loop through the session, 35 us straight; bench/README.md,
"Seventh round"), in the transaction that SQLAlchemy's adapter begins for the first of
them (its BEGIN, sent from here; "Eighth round"); a batch that returns rows (one INSERT
with SQLAlchemy's insertmanyvalues) goes through `session.execute`. On aiosqlite it is
always `session.execute`.

Nothing is written by hand: each statement is compiled once, by SQLAlchemy, for the
engine's dialect; values go through the dialect's own bind and result processors (dates as
SQLAlchemy stores them, JSON with the engine's serializer) and columns with a Python-side
default or onupdate get it as SQLAlchemy's execution would give it. tests/foundation/
test_direct.py writes each statement both ways and compares the stored rows.

For Core statements on tables (insert, update, select) with a fixed set of parameter keys;
anything else (a SQL-side default, a sequence) is refused when it is first compiled.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias
from weakref import WeakKeyDictionary

from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.sql.dml import ValuesBase
from sqlalchemy.sql.expression import Insert, Select, Update

from bot.storage.inline_sqlite import InlineConnection, unless_locked

if TYPE_CHECKING:
    from asyncpg import Connection as AsyncpgConnection

Statement = Insert | Update | Select[Any]
Processor = Callable[[Any], Any] | None
Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    names: tuple[str, ...]  # the positional parameters, in order
    fixed: Mapping[str, Any]  # values the statement carries itself (literals bound as ?)
    defaults: tuple[tuple[str, Callable[[], Any]], ...]  # Python-side defaults and onupdates
    binds: tuple[Processor, ...]  # one per positional parameter
    results: tuple[Processor, ...]  # one per column returned

    def row(self, params: Params) -> list[Any]:
        values = params
        if self.fixed or self.defaults:
            values = {**self.fixed, **params}
            for name, default in self.defaults:
                if name not in params:
                    values[name] = default()
        return [
            values[name] if process is None else process(values[name])
            for name, process in zip(self.names, self.binds, strict=True)
        ]

    def rows_of(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        if not self.results:
            return []
        if not any(self.results):
            return [tuple(row) for row in rows]
        return [
            tuple(
                v if process is None else process(v)
                for process, v in zip(self.results, row, strict=True)
            )
            for row in rows
        ]


# Per dialect (an engine's: its JSON serializer is in the processors), per statement and
# set of parameter keys; the statement is kept with its entry, so its id stays its own.
_Known = dict[tuple[int, frozenset[str]], tuple[Statement, _Prepared]]
_prepared: WeakKeyDictionary[Dialect, _Known] = WeakKeyDictionary()


def _default_of(column: Any, default: Any) -> Callable[[], Any]:
    if default is None or not (default.is_callable or default.is_scalar):
        raise ValueError(f"column {column.key!r}: only Python-side defaults run directly")
    if default.is_scalar:
        value = default.arg
        return lambda: value
    make = default.arg  # SQLAlchemy's wrapper, which takes the execution context
    return lambda: make(None)


def _prepare(statement: Statement, keys: frozenset[str], dialect: Dialect) -> _Prepared:
    known = _prepared.setdefault(dialect, {})
    found = known.get((id(statement), keys))
    if found is not None:
        return found[1]
    column_keys = sorted(keys) if isinstance(statement, ValuesBase) else None
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    if compiled.positiontup is None:
        raise ValueError(f"{dialect.name} does not take positional parameters")
    names = tuple(compiled.positiontup)
    defaults = tuple(
        (column.key, _default_of(column, column.default)) for column in compiled.insert_prefetch
    ) + tuple(
        (column.key, _default_of(column, column.onupdate)) for column in compiled.update_prefetch
    )
    prepared = _Prepared(
        sql=compiled.string,
        names=names,
        fixed={
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if name not in keys and not bind.required
        },
        defaults=defaults,
        binds=tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        ),
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.exported_columns
        ),
    )
    known[(id(statement), keys)] = (statement, prepared)
    return prepared


# What each open transaction runs on, looked up once. Held weakly: kept in the session
# (its info), the transaction would tie the session into a reference cycle and every
# update's session would wait for the garbage collector (PostgreSQL lost a fifth of its
# throughput that way). With each, its engine's dialect: `session.get_bind()` cost as much
# as running a statement.
Driver: TypeAlias = "sqlite3.Connection | AsyncpgConnection"
_Found: TypeAlias = "tuple[Driver, Dialect] | None"
_drivers: WeakKeyDictionary[SessionTransaction, _Found] = WeakKeyDictionary()


async def _driver(session: AsyncSession) -> _Found:
    """The session's sqlite3 or asyncpg connection, in its transaction (begun if need be),
    and its dialect; None for `session.execute` (aiosqlite, or asyncpg in autocommit)."""
    transaction = session.sync_session.get_transaction()
    if transaction is not None and transaction in _drivers:
        return _drivers[transaction]
    connection = await session.connection()  # begins the session's transaction if need be
    # The pool's connection, checked out just now: read in place, not through another
    # greenlet as `get_raw_connection()` reads it (which could reconnect one invalidated).
    sync = connection.sync_connection
    raw = (
        sync.connection
        if sync is not None and not sync.invalidated
        else await connection.get_raw_connection()
    )
    driver = raw.driver_connection
    found: _Found = None
    if isinstance(driver, InlineConnection):
        found = (driver.raw, connection.dialect)
    elif isinstance(raw.dbapi_connection, AsyncAdapt_asyncpg_connection):
        # SQLAlchemy's adapter sends BEGIN with the first statement; a statement straight
        # on the connection before it would run outside the transaction. So BEGIN is sent
        # here as the adapter sends it, and its commit and rollback end it as usual.
        adapter = raw.dbapi_connection
        start = getattr(adapter, "_start_transaction", None)
        if getattr(adapter, "_transaction", None) is None:
            if start is None:  # an adapter unlike the one this was written for
                return None
            await start()
            if getattr(adapter, "_transaction", None) is None:  # autocommit: no BEGIN
                return None
        found = (driver, connection.dialect)
    began = session.sync_session.get_transaction()
    if began is not None:
        _drivers[began] = found
    return found


async def execute(
    session: AsyncSession, statement: Statement, params: Params | Sequence[Params]
) -> list[tuple[Any, ...]]:
    """Run `statement` in the session's transaction; the rows it returns, as tuples.

    `params`: one mapping, or a list of them (the statement runs once for each, in order).
    """
    many = type(params) is not dict and not isinstance(params, Mapping)
    found = await _driver(session)
    if found is None:
        result = await session.execute(statement, params)
        return [tuple(row) for row in result] if statement.exported_columns else []
    driver, dialect = found
    # As the session's autoflush would, before the statement (its own test: `session.new`,
    # `.dirty` and `.deleted` each build a set, and cost a third of a statement together).
    if not session.sync_session._is_clean():
        await session.flush()
    batch: Sequence[Params] = params if many else [params]  # type: ignore[assignment,list-item]
    if not batch:
        return []
    prepared = _prepare(statement, frozenset(batch[0]), dialect)
    if not isinstance(driver, sqlite3.Connection):
        return await _on_asyncpg(session, driver, statement, prepared, batch, many=many)
    cursor = driver.cursor()
    try:
        if many and not prepared.results:
            later = unless_locked(
                cursor.executemany, prepared.sql, [prepared.row(one) for one in batch]
            )
            if later is not None:
                await later
            return []
        rows: list[tuple[Any, ...]] = []
        for one in batch:
            later = unless_locked(cursor.execute, prepared.sql, prepared.row(one))
            if later is not None:
                await later
            rows += prepared.rows_of(cursor.fetchall())
        return rows
    finally:
        cursor.close()


async def _on_asyncpg(
    session: AsyncSession,
    driver: AsyncpgConnection,
    statement: Statement,
    prepared: _Prepared,
    batch: Sequence[Params],
    *,
    many: bool,
) -> list[tuple[Any, ...]]:
    if many and prepared.results:  # SQLAlchemy's insertmanyvalues: one round trip, not many
        result = await session.execute(statement, batch)
        return [tuple(row) for row in result]
    if many:
        await driver.executemany(prepared.sql, [prepared.row(one) for one in batch])
        return []
    return prepared.rows_of(await driver.fetch(prepared.sql, *prepared.row(batch[0])))
