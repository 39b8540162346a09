"""The audit chain, data rights (/mydata, /forget, erasure, retention) and link codes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update

from bot import audit
from bot.runtime import Storage
from bot.storage import migrate, repositories
from bot.storage.models import (
    AuditEntry,
    Budget,
    CarerLink,
    ConversationEvent,
    ErasureRequest,
    Person,
    Plan,
    utcnow,
)
from tests.chat_driver import person
from tests.people.conftest import carer_accepts, code_for, invite, ready_person, sent_json


async def chain_of(storage: Storage, rows: int = 6) -> None:
    async with storage.sessions() as session, session.begin():
        for number in range(rows):
            await audit.record(
                session,
                actor_kind="person",
                actor_id=100 + number,
                subject_person_id=number,
                action="choice",
                detail={"name": "goal", "after": f"my words {number}"},
            )


async def verified(storage: Storage) -> audit.Verification:
    async with storage.sessions() as session:
        return await audit.verify(session)


async def test_an_untouched_chain_verifies(storage: Storage) -> None:
    await chain_of(storage)
    result = await verified(storage)
    assert result.ok and result.checked == 6


async def test_no_personal_text_in_the_audit_log(storage: Storage) -> None:
    await chain_of(storage, rows=1)
    async with storage.sessions() as session:
        row = await session.scalar(select(AuditEntry))
    assert row is not None
    assert "my words" not in json.dumps(row.detail)
    assert row.detail["after"].startswith("sha256:")


async def test_an_edited_row_is_named(storage: Storage) -> None:
    await chain_of(storage)
    async with storage.sessions() as session, session.begin():
        ids = list(await session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == ids[2]).values(actor_id="someone else")
        )
    result = await verified(storage)
    assert result.first_broken_id == ids[2] and "changed" in (result.problem or "")


async def test_a_deleted_row_is_named(storage: Storage) -> None:
    await chain_of(storage)
    async with storage.sessions() as session, session.begin():
        ids = list(await session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
        await session.execute(delete(AuditEntry).where(AuditEntry.id == ids[3]))
    result = await verified(storage)
    assert result.first_broken_id == ids[4] and "deleted or inserted" in (result.problem or "")


async def test_an_inserted_row_is_named(storage: Storage) -> None:
    await chain_of(storage)
    async with storage.sessions() as session, session.begin():
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        forged = AuditEntry(
            id=rows[-1].id + 1,
            created_at=utcnow(),
            actor_kind="staff",
            actor_id="x",
            subject_person_id=1,
            action="choice",
            detail={},
            prev_hash=rows[2].hash,
            hash="f" * 64,
        )
        session.add(forged)
    result = await verified(storage)
    assert not result.ok
    assert result.first_broken_id == forged.id


async def test_appends_from_many_sessions_at_once_keep_one_chain(storage: Storage) -> None:
    """Single rows (one statement on PostgreSQL) and batches, each in its own transaction."""
    await chain_of(storage, rows=1)  # the head exists: every later single row takes one statement

    async def append(number: int) -> None:
        events = [
            audit.AuditEvent("staff", f"siân.{number}@cyngor.cymru", None, "plan_viewed", {"n": 1}),
            audit.AuditEvent("person", number, number, "choice", {"after": "“my words”"}),
        ]
        async with storage.sessions() as session, session.begin():
            await audit.record_all(session, events[: 1 + number % 2])

    await asyncio.gather(*(append(number) for number in range(24)))
    result = await verified(storage)
    assert result.ok, result.problem
    assert result.checked == 1 + 12 * 1 + 12 * 2


@given(
    actor_id=st.text(max_size=40),
    subject=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    detail=st.dictionaries(
        st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.text(), max_size=4
    ),
)
def test_the_hash_is_the_one_every_stored_row_has(
    actor_id: str, subject: int | None, detail: dict[str, object]
) -> None:
    """As rows have always been hashed: SHA-256 over one JSON array, the previous hash first
    (PostgreSQL hashes the same text, put together in SQL)."""
    entry = {
        "created_at": utcnow(),
        "actor_kind": "staff",
        "actor_id": actor_id,
        "subject_person_id": subject,
        "action": "choice",
        "detail": audit.safe_value(detail),
    }
    prev = hashlib.sha256(actor_id.encode("utf-8", "replace")).hexdigest()
    moment = entry["created_at"].replace(tzinfo=None).isoformat(timespec="microseconds")
    items = [prev, moment, "staff", actor_id, subject, "choice", entry["detail"]]
    text = json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert audit.entry_hash(prev_hash=prev, **entry) == hashlib.sha256(text.encode()).hexdigest()


async def test_removing_the_newest_rows_is_noticed(storage: Storage) -> None:
    await chain_of(storage)
    async with storage.sessions() as session, session.begin():
        last = await session.scalar(select(func.max(AuditEntry.id)))
        await session.execute(delete(AuditEntry).where(AuditEntry.id == last))
    result = await verified(storage)
    assert not result.ok and "missing" in (result.problem or "")


async def chains_of(storage: Storage) -> list[int]:
    """Two people's own chains (three rows each, two turns' worth) between log-wide rows."""
    async with storage.sessions() as session, session.begin():
        people = [Person(display_name=name, conversation={}) for name in ("Ann", "Cai")]
        session.add_all(people)
        await session.flush()
        ids = [person.id for person in people]
    for turn in range(2):
        for person_id in ids:
            events = [
                audit.AuditEvent("person", 100 + person_id, person_id, "choice", {"n": n})
                for n in range(1 + turn)
            ]
            async with storage.sessions() as session, session.begin():
                await audit.record_all(session, events, person_chain=person_id)
        await chain_of(storage, rows=1)
    return ids


async def _rows_of_chain(storage: Storage, person_id: int | None) -> list[AuditEntry]:
    async with storage.sessions() as session:
        chain = AuditEntry.chain_person_id
        on_it = chain.is_(None) if person_id is None else chain == person_id
        return list(await session.scalars(select(AuditEntry).where(on_it).order_by(AuditEntry.id)))


async def test_peoples_chains_and_the_log_wide_chain_verify_together(storage: Storage) -> None:
    ann, cai = await chains_of(storage)
    result = await verified(storage)
    assert result.ok, result.problem
    assert (result.checked, result.chains) == (2 * 3 + 2, 3)
    rows = await _rows_of_chain(storage, ann)
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]
    async with storage.sessions() as session:
        heads = [(await session.get_one(Person, id_)).audit_last_hash for id_ in (ann, cai)]
    assert heads == [rows[-1].hash, (await _rows_of_chain(storage, cai))[-1].hash]


async def test_a_walk_of_several_batches_checks_every_row_and_says_how_far_it_is(
    storage: Storage,
) -> None:
    ann, cai = await chains_of(storage)
    rows = 2 * audit.BATCH + 10  # beyond two batches, on both people's chains
    for person_id in (ann, cai):
        events = [
            audit.AuditEvent("person", 100 + person_id, person_id, "choice", {"n": n})
            for n in range(rows // 2)
        ]
        async with storage.sessions() as session, session.begin():
            await audit.record_all(session, events, person_chain=person_id)
    total = rows + 2 * 3 + 2
    seen: list[tuple[int, int]] = []
    async with storage.sessions() as session:
        result = await audit.verify(session, progress=lambda *at: seen.append(at))
    assert result.ok and (result.checked, result.chains) == (total, 3), result.problem
    assert seen == [(audit.BATCH, total), (2 * audit.BATCH, total), (total, total)]
    # A row changed in the last batch is found there, after every row before it.
    async with storage.sessions() as session, session.begin():
        last = await session.scalar(select(func.max(AuditEntry.id)))
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == last).values(action="something else")
        )
    result = await verified(storage)
    assert (result.first_broken_id, result.checked) == (last, total - 1)


async def test_a_row_deleted_from_a_persons_chain_is_named(storage: Storage) -> None:
    ann, _ = await chains_of(storage)
    rows = await _rows_of_chain(storage, ann)
    async with storage.sessions() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id == rows[1].id))
    result = await verified(storage)
    assert result.first_broken_id == rows[2].id
    assert f"person {ann}'s chain" in (result.problem or "")


async def test_a_row_moved_to_another_chain_is_named(storage: Storage) -> None:
    ann, cai = await chains_of(storage)
    rows = await _rows_of_chain(storage, ann)
    async with storage.sessions() as session, session.begin():
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == rows[0].id).values(chain_person_id=cai)
        )
    result = await verified(storage)
    assert not result.ok and result.first_broken_id is not None


@pytest.mark.parametrize("newest", [1, 3])
async def test_removing_a_persons_newest_rows_is_noticed(storage: Storage, newest: int) -> None:
    """Their record's head is further on: one row gone, or the whole chain."""
    ann, _ = await chains_of(storage)
    rows = await _rows_of_chain(storage, ann)
    async with storage.sessions() as session, session.begin():
        gone = [row.id for row in rows[-newest:]]
        await session.execute(delete(AuditEntry).where(AuditEntry.id.in_(gone)))
    result = await verified(storage)
    assert not result.ok and f"person {ann}'s chain" in (result.problem or "")


async def test_a_cleared_head_is_noticed(storage: Storage) -> None:
    ann, _ = await chains_of(storage)
    async with storage.sessions() as session, session.begin():
        await session.execute(update(Person).where(Person.id == ann).values(audit_last_hash=None))
    result = await verified(storage)
    assert not result.ok and f"person {ann}'s chain" in (result.problem or "")


async def _merged_with_chains(storage: Storage) -> tuple[int, int]:
    """A provisioned record with rows on its chain (a carer's turns for them) merged into
    a chatting person with a chain of their own; their ids."""
    async with storage.sessions() as session, session.begin():
        provisioned = await repositories.create_person(session, display_name="Ann (staff)")
        chatting = Person(telegram_user_id=10, display_name="Ann", conversation={})
        session.add(chatting)
        await session.flush()
        for person_id in (provisioned, chatting.id):
            event = audit.AuditEvent("carer", 20, person_id, "choice", {"n": 1})
            await audit.record_all(session, [event], person_chain=person_id)
    async with storage.sessions() as session, session.begin():
        await repositories.merge_provisioned(
            session, provisioned_id=provisioned, person_id=chatting.id
        )
    return provisioned, chatting.id


async def test_a_merged_records_chain_is_closed_and_its_id_may_come_again(
    storage: Storage,
) -> None:
    """SQLite gives the deleted row's id to the next person: their chain starts afresh."""
    provisioned, _ = await _merged_with_chains(storage)
    assert (await verified(storage)).ok
    async with storage.sessions() as session, session.begin():
        newcomer = Person(telegram_user_id=11, display_name="Cai", conversation={})
        session.add(newcomer)
        await session.flush()
        if newcomer.id != provisioned:  # PostgreSQL's sequence: the same case, by hand
            await session.execute(
                update(Person).where(Person.id == newcomer.id).values(id=provisioned)
            )
    assert (await verified(storage)).ok
    async with storage.sessions() as session, session.begin():
        event = audit.AuditEvent("person", 11, provisioned, "choice", {"n": 2})
        await audit.record_all(session, [event], person_chain=provisioned)
    result = await verified(storage)
    assert result.ok, result.problem


async def test_a_merged_records_chain_without_its_closing_row_is_noticed(
    storage: Storage,
) -> None:
    provisioned, _ = await _merged_with_chains(storage)
    async with storage.sessions() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.action == audit.CHAIN_CLOSED))
    result = await verified(storage)
    assert not result.ok and f"person {provisioned}'s record is gone" in (result.problem or "")


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_verify_reads_one_snapshot(storage: Storage) -> None:
    """People's turns commit in any order: batches read as rows commit could skip one."""
    async with storage.sessions() as session:
        await audit.verify(session)
        isolation = await session.scalar(text("SHOW transaction_isolation"))
    assert isolation == "repeatable read"


async def test_a_persons_conversation_appends_to_their_own_chain(storage: Storage) -> None:
    ann = await ready_person(storage, user_id=10, name="Ann")
    await ann.say("I want to swim again")
    await ann.press("Yes")
    async with storage.sessions() as session:
        ann_id = await session.scalar(select(Person.id).where(Person.telegram_user_id == 10))
        chains = set(
            await session.scalars(
                select(AuditEntry.chain_person_id).where(AuditEntry.subject_person_id == ann_id)
            )
        )
    assert chains == {ann_id}
    result = await verified(storage)
    assert result.ok, result.problem


async def test_migration_0006_keeps_the_old_chain_and_refuses_to_drop_peoples(
    storage: Storage,
) -> None:
    """Log-wide rows go down to 0005 and back up as they were; people's chains start
    after the upgrade; the downgrade refuses while they hold rows, and changes nothing."""
    await chain_of(storage, rows=3)
    async with storage.sessions() as session, session.begin():
        session.add(Person(display_name="Ann", conversation={}))
    assert await migrate.downgrade(storage.engine, "0005") == "0005"
    assert await migrate.upgrade(storage.engine) == migrate.head_revision()
    async with storage.sessions() as session, session.begin():
        ann = await session.scalar(select(Person.id))
        assert ann is not None
        await audit.record_all(
            session, [audit.AuditEvent("person", 7, ann, "choice")], person_chain=ann
        )
    result = await verified(storage)
    assert result.ok and (result.checked, result.chains) == (4, 2)
    with pytest.raises(RuntimeError, match="1 audit row on people's own chains"):
        await migrate.downgrade(storage.engine, "0005")
    assert await migrate.revision_of(storage.engine) == migrate.head_revision()
    assert (await verified(storage)).ok


async def test_mydata_has_everything_about_the_person_and_nothing_else(storage: Storage) -> None:
    ann = await ready_person(storage, user_id=10, name="Ann")
    cai = await ready_person(storage, user_id=11, name="Cai")
    await ann.say("Ann's own secret goal about her garden")
    await cai.say("Cai's private words about his flat")
    await ann.press("Yes")
    await carer_accepts(storage, await invite(ann, "see the plan"), user_id=20, name="Bob")
    await ann.say("/mydata")
    data = sent_json(ann)
    dumped = json.dumps(data)
    assert "Ann's own secret goal" in dumped
    assert "Cai" not in dumped and "his flat" not in dumped
    assert data["person"]["display_name"] == "Ann"
    assert data["carers"] == [{"carer": "Bob", "scope": "view", "accepted": True}]
    assert data["budgets"] == [] and data["conversation_state"]["budget"]["annual_pence"] == 520_00
    ann_id = data["person"]["id"]
    async with storage.sessions() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(ConversationEvent)
            .where(ConversationEvent.person_id == ann_id)
        )
    # Everything logged before the export (the export's own lines come after it).
    assert len(data["messages_and_choices"]) >= int(stored or 0) - 4
    assert any(d.document.filename == "my-data.pdf" for d in ann.documents())


async def test_forget_is_recorded_for_staff(storage: Storage) -> None:
    ann = await ready_person(storage, user_id=10, name="Ann")
    await ann.say("/forget")
    assert "erased" in ann.texts[-2]
    async with storage.sessions() as session:
        requests = list(await session.scalars(select(ErasureRequest)))
    assert len(requests) == 1 and requests[0].handled_at is None


async def test_erasure_leaves_plans_and_the_audit_chain(storage: Storage) -> None:
    ann = await ready_person(storage, user_id=10, name="Ann")
    await ann.say("I want to swim again")
    await ann.press("Yes")
    await ann.press("That's all")
    await ann.press("Show me ideas")
    await ann.press("See my plan")
    await ann.press("Next: how the money")
    await ann.press("The council arranges it")
    await ann.press("Confirm")
    async with storage.sessions() as session, session.begin():
        ann_id = (await repositories.person_by_telegram_id(session, telegram_user_id=10)).id  # type: ignore[union-attr]
        erased = await repositories.erase_person(session, person_id=ann_id)
    assert erased > 5
    async with storage.sessions() as session:
        texts = list(
            await session.scalars(
                select(ConversationEvent.body).where(ConversationEvent.person_id == ann_id)
            )
        )
        plans = list(await session.scalars(select(Plan)))
        person_row = await session.get(Person, ann_id)
    assert set(texts) == {""}
    assert len(plans) == 1 and plans[0].summary["goals"][0]["text"] == "I want to swim again"
    assert person_row is not None and person_row.conversation == {}
    assert (await verified(storage)).ok


async def test_retention_erases_only_old_text(storage: Storage) -> None:
    ann = await ready_person(storage, user_id=10, name="Ann")
    async with storage.sessions() as session, session.begin():
        await session.execute(
            update(ConversationEvent)
            .where(ConversationEvent.kind == "command")
            .values(created_at=utcnow() - timedelta(days=800))
        )
    async with storage.sessions() as session, session.begin():
        erased = await repositories.erase_conversation_text(
            session, older_than=utcnow() - timedelta(days=730)
        )
    assert erased == 1
    async with storage.sessions() as session:
        kept = await session.scalar(
            select(func.count()).select_from(ConversationEvent).where(ConversationEvent.body != "")
        )
    assert int(kept or 0) > 5
    del ann


async def test_too_many_wrong_codes_are_slowed_down_and_logged(storage: Storage) -> None:
    good = await code_for(storage)
    eve = await ready_person(storage, user_id=66, name="Eve")
    await eve.say("/back")  # back at the step that asks for a code
    for attempt in range(5):
        await eve.say(f"WRONG-CODE-{attempt}")
    await eve.say(good)
    assert "too many wrong codes" in eve.texts[-2]
    async with storage.sessions() as session:
        refused = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "link_code_refused")
        )
        blocked = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "code_blocked")
        )
    assert (refused, blocked) == (5, 1)


async def test_deep_link_code_is_used_once_consent_is_given(storage: Storage) -> None:
    code = await code_for(storage, annual_pence=1_040_00)
    dai = person(storage, user_id=70, name="Dai")
    await dai.say(f"/start {code.replace('-', '')}")
    await dai.press("English")
    await dai.press("Yes, go on")
    await dai.press("Me")
    assert "£1,040.00 a year" in dai.texts[-2]
    assert "What matters to you?" in dai.texts[-1]


async def test_a_provisioned_person_becomes_the_one_chatting(storage: Storage) -> None:
    async with storage.sessions() as session, session.begin():
        provisioned = await repositories.create_person(session, display_name="Ann Jones")
        session.add(
            Budget(
                person_id=provisioned,
                scheme_id="set-amount",
                source="council",
                annual_pence=300_00,
                weekly_pence=577,
                answers={},
            )
        )
        await repositories.create_carer_invite(
            session,
            person_id=provisioned,
            scope="view",
            created_by="staff",
            valid_for=timedelta(days=1),
        )
        code = await repositories.create_link_code(
            session,
            person_id=provisioned,
            display_name="Ann Jones",
            scheme_id="set-amount",
            annual_pence=300_00,
            weekly_pence=577,
            valid_for=timedelta(days=1),
        )
    ann = person(storage, user_id=80, name="Annie")
    await ann.say(f"/start {code}")
    await ann.press("English")
    await ann.press("Yes, go on")
    await ann.press("Me")
    async with storage.sessions() as session:
        people = list(await session.scalars(select(Person)))
        links = list(await session.scalars(select(CarerLink)))
        budgets = list(await session.scalars(select(Budget)))
    assert len(people) == 1
    assert (people[0].display_name, people[0].telegram_user_id) == ("Ann Jones", 80)
    assert links[0].person_id == people[0].id and budgets[0].person_id == people[0].id


@pytest.mark.parametrize("table", ["audit_log"])
async def test_audit_table_exists_after_migrations(storage: Storage, table: str) -> None:
    async with storage.engine.connect() as connection:
        assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0
