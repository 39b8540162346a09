"""Middlewares shared by every mode (Telegram, local chat, tests).

Each update runs under its chat's lock, in one database transaction. With the journal on
(the Telegram modes) the update_id is claimed in that same transaction, so its effect and
the "done" mark commit together and a re-delivered update changes nothing; a failure
rolls the effect back, keeps the update for a retry and tells the person politely (one
that PostgreSQL ended for a conflict with another update, a deadlock, runs again at once).
Replies wait in the update's outbox and are sent after the commit (see
bot.telegram.outbox); one that cannot be delivered leaves the stored effect alone.
Without the journal (local chat, tests) a failure propagates to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.storage import journal, repositories
from bot.storage.engine import connection_limit, runs_inline
from bot.telegram.language import language_for, phone_language
from bot.telegram.locks import ChatLocks, InProcessChatLocks
from bot.telegram.outbox import Outbox
from bot.texts import render

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
logger = logging.getLogger("bot.telegram.updates")


def update_chat_id(update: Update) -> int | None:
    """The chat an update happened in (a button press: the chat of its message)."""
    # A press is looked at first: asking a model for a field it lacks (a press has no
    # `chat`) goes through pydantic's __getattr__ and an AttributeError, a fiftieth of an
    # update's time when asked twice for each press.
    press = update.callback_query
    if press is not None:
        return press.message.chat.id if press.message is not None else press.from_user.id
    chat = getattr(update.event, "chat", None)
    return None if chat is None else int(chat.id)


def update_user(update: Update) -> User | None:
    """Who sent the update (a message's or a press's sender), if anyone."""
    # The two kinds the conversation gets are looked at first: `update.event` tries each
    # kind of update in turn (a hundredth of an update's time, once for every update).
    for event in (update.message, update.callback_query):
        if event is not None:
            return event.from_user
    user = getattr(update.event, "from_user", None)
    return user if isinstance(user, User) else None


def lock_key(update: Update) -> int:
    """What the update is serialised on: its chat, else its sender, else itself."""
    chat_id = update_chat_id(update)
    if chat_id is not None:
        return chat_id
    user = update_user(update)
    return user.id if user is not None else update.update_id


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was ended for
# a conflict with another, and the same work tried again will most likely go through.
CONFLICTS = frozenset({"40P01", "40001"})
CONFLICT_TRIES = 3


def is_conflict(error: BaseException) -> bool:
    """Whether `error` is, or wraps, PostgreSQL's report of such a conflict: asyncpg's
    error (statements run straight on the driver) or SQLAlchemy's wrapping of it."""
    seen: BaseException | None = error
    for _ in range(5):  # the wrapped error, its cause: never a long chain
        if seen is None:
            return False
        if (getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)) in CONFLICTS:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def failure_description(error: BaseException) -> str:
    """The error's type and where it was raised: never its message, which may quote a person."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 2)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{where}"


class DatabaseSessionMiddleware(BaseMiddleware):
    """One update: its chat's lock, one database session committed when the handler returns.

    At most as many updates hold a session as the pool has connections (less two kept for
    the rest, on a pool of more than four); the rest wait their turn here, for as long as
    it takes, instead of in the pool, whose wait ends with a timeout error after 30
    seconds (under a burst, updates failed that way).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        locks: ChatLocks | None = None,
        journal_updates: bool = False,
        default_language: str = "en",
    ) -> None:
        self._sessions = sessions
        self._locks = locks or InProcessChatLocks()
        self._journal = journal_updates
        self._default_language = default_language
        bind = sessions.kw.get("bind")
        limit = connection_limit(bind) if isinstance(bind, AsyncEngine) else 64
        self._close_in_place = isinstance(bind, AsyncEngine) and runs_inline(bind)
        # Two connections kept for the rest (journaling arrivals, failures, health checks).
        self._admitted = asyncio.Semaphore(limit - 2 if limit > 4 else limit)
        self._idle: list[AsyncSession] = []  # closed cleanly, for the next update

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        outbox = data["outbox"] = Outbox()
        try:
            return await self._handle(handler, event, data, outbox)
        finally:
            outbox.discard()  # what a failure left undelivered (drawings are cancelled)

    async def _handle(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], outbox: Outbox
    ) -> Any:
        if not isinstance(event, Update):
            result = await self._run(handler, event, data, key=0)
            await outbox.deliver()
            return result
        started = time.monotonic()
        key = lock_key(event)
        async with self._locks.hold(key):
            if not self._journal:
                # The local chat and the tests: a failure, even after the commit, is raised.
                result = await self._run_settled(handler, event, data, outbox, key=key)
                await outbox.deliver()
                return result
            try:
                result = await self._run_settled(handler, event, data, outbox, key=key)
            except Exception as error:
                outbox.discard()  # its drawings stop now, not after the apology
                await self._keep_failed(event, data["bot"], error)
                _log_outcome(event, "failed", started)
                return None
            try:
                await outbox.deliver()
            except Exception as error:
                await self._undelivered(event, data["bot"], error, outbox.person_id)
                _log_outcome(event, "undelivered", started)
                return None
            except asyncio.CancelledError:  # shutdown cut the sending off: note it, quickly
                await self._undelivered(event, None, "cut off at shutdown", outbox.person_id)
                raise
        _log_outcome(event, "duplicate" if result is _DUPLICATE else "handled", started)
        return None if result is _DUPLICATE else result

    async def _run_settled(
        self,
        handler: Handler,
        event: Update,
        data: dict[str, Any],
        outbox: Outbox,
        *,
        key: int,
    ) -> Any:
        """`_run`, and again if PostgreSQL ended its transaction for a conflict with another
        update's: two people who each care for the other, writing at the same moment, each
        hold their own row and wait for the other's, and PostgreSQL breaks that deadlock by
        failing one of them. Nothing of the failed try was stored or sent. Its chat's
        advisory lock (PostgreSQL's, held by the transaction) goes with the rollback, so in
        the moment before the next try another worker could take that chat's next update;
        before, the failed update waited for the next start."""
        tries = 1
        while True:
            try:
                return await self._run(handler, event, data, key=key)
            except Exception as error:
                if tries == CONFLICT_TRIES or not is_conflict(error):
                    raise
                logger.warning(
                    "update conflicted with another: trying again",
                    extra={"update_id": event.update_id, "error": failure_description(error)},
                )
            outbox.discard()
            tries += 1

    async def _run(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], *, key: int
    ) -> Any:
        """The update in one transaction, committed when the handler returns; a failure
        leaves it to the session's close, which rolls it back.

        The transaction begins with the session's first statement and is committed by
        hand, without the session's context managers, which cost greenlets and a task of
        their own for every update (bench/README.md, "Sixth round" and "Twentieth
        round"). On the inline SQLite engine the session is committed and closed in one
        greenlet (155 -> 119 us for a transaction of one statement). Elsewhere
        (PostgreSQL, aiosqlite) a failed or cancelled update's rollback runs shielded, in
        a task that finishes even if this one is cancelled again (at shutdown); after a
        commit the connection is back in the pool, and closing waits for nothing. A
        session closed cleanly is kept for a later update: making one cost about a
        fiftieth of an update ("Fifteenth round").
        """
        async with self._admitted:
            # At most one idle session for each update admitted at once.
            session = self._idle.pop() if self._idle else self._sessions()
            try:
                result = await self._handled(session, handler, event, data, key=key)
                if not self._close_in_place:
                    await session.commit()
            except BaseException:  # closing rolls the transaction back
                await (session.close() if self._close_in_place else asyncio.shield(session.close()))
                raise
            if self._close_in_place:
                await session.run_sync(_commit_and_close)
            else:
                await session.close()
            session.info.clear()
            self._idle.append(session)
            return result

    async def _handled(
        self,
        session: AsyncSession,
        handler: Handler,
        event: TelegramObject,
        data: dict[str, Any],
        *,
        key: int,
    ) -> Any:
        """The update's work in `session`'s transaction, left for the caller to commit."""
        claimed = event if self._journal and isinstance(event, Update) else None
        # With a claim to make, PostgreSQL's advisory lock is taken by the claim itself,
        # in the same round trip.
        advisory = self._locks.advisory_key(key) if claimed is not None else None
        if advisory is None:
            await self._locks.within(session, key)
        if claimed is not None:
            # On PostgreSQL the claim also reads and locks the sender's person row.
            sender = update_user(claimed)
            fresh = await journal.begin_handling(
                session,
                update_id=claimed.update_id,
                chat_id=update_chat_id(claimed),
                kind=claimed.event_type,
                advisory_lock=advisory,
                telegram_user_id=None if sender is None else sender.id,
            )
            if not fresh:
                return _DUPLICATE
        data["db"] = session
        return await handler(event, data)

    async def _keep_failed(self, update: Update, bot: Bot, error: Exception) -> None:
        description = failure_description(error)
        logger.error("update failed", extra={"update_id": update.update_id, "error": description})
        user = update_user(update)
        language = self._default_language
        attempts = 1
        try:
            async with self._sessions() as session, session.begin():
                attempts = await journal.record_failure(
                    session,
                    update_id=update.update_id,
                    chat_id=update_chat_id(update),
                    kind=update.event_type,
                    payload=update.model_dump(mode="json", exclude_none=True),
                    error=description,
                )
        except Exception as journal_error:  # the database itself may be what failed
            logger.error(
                "failed update not journaled",
                extra={"update_id": update.update_id, "error": failure_description(journal_error)},
            )
        try:
            async with self._sessions() as session:
                language = await language_for(session, user, self._default_language)
        except Exception:  # the phone's language will do
            language = phone_language(user, self._default_language)
        if attempts == 1:  # a retry that fails again does not apologise again
            await _apologise(bot, update, language)

    async def _undelivered(
        self, update: Update, bot: Bot | None, error: Exception | str, person_id: int | None
    ) -> None:
        """The effect is committed but a reply did not go: noted, not handled again.

        The journal and the person's transcript say so (staff see what did not arrive);
        the person is asked, if Telegram lets us, to send /start to see where they are.
        """
        description = error if isinstance(error, str) else failure_description(error)
        logger.error(
            "reply not delivered", extra={"update_id": update.update_id, "error": description}
        )
        user = update_user(update)
        language = phone_language(user, self._default_language)
        try:
            async with self._sessions() as session, session.begin():
                await journal.note_undelivered(
                    session, update_id=update.update_id, error=description
                )
                if person_id is not None:
                    await repositories.log_undelivered(
                        session, person_id=person_id, error=description
                    )
                language = await language_for(session, user, self._default_language)
        except Exception as journal_error:  # the database itself may be what failed
            logger.error(
                "undelivered reply not noted",
                extra={"update_id": update.update_id, "error": failure_description(journal_error)},
            )
        if bot is not None:
            await _apologise(bot, update, language, template="runtime.undelivered")


def _commit_and_close(session: Session) -> None:
    """Commit, then close (which, after a failed commit, rolls back): one greenlet for both."""
    try:
        session.commit()
    finally:
        session.close()


class _Duplicate:
    """Marks an update whose update_id was handled already."""


_DUPLICATE = _Duplicate()


async def _apologise(
    bot: Bot, update: Update, language: str, *, template: str = "runtime.failed"
) -> None:
    chat_id = update_chat_id(update)
    if chat_id is None:
        return
    try:
        await bot.send_message(chat_id, render(template, language))
    except Exception as error:  # the apology is a courtesy: its failure is only logged
        logger.warning(
            "apology not sent",
            extra={"update_id": update.update_id, "error": failure_description(error)},
        )


def _log_outcome(update: Update, outcome: str, started: float) -> None:
    logger.info(
        "update %s",
        outcome,
        extra={
            "update_id": update.update_id,
            "kind": update.event_type,
            "outcome": outcome,
            "ms": round((time.monotonic() - started) * 1000),
        },
    )
