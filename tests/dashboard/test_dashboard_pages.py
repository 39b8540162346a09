"""The pages: caseload isolation, audit rows, transcript search, decisions, CSV, the queue."""

from __future__ import annotations

import csv
import io
import re

import pytest
from aiogram.methods import SendMessage
from sqlalchemy import select, text

from bot.dashboard import store
from bot.runtime import Storage
from bot.storage import repositories
from bot.storage.models import AuditEntry, ConversationEvent, HumanRequest, Person
from bot.storage.staff import PlanDecision
from tests.dashboard.dashboard_helpers import (
    add_staff,
    assign,
    chatted_person,
    dashboard_client,
    page_csrf,
    plan_status,
    recording_notifier,
    sign_in,
    stored_person,
)


async def _actions(storage: Storage) -> list[tuple[str, int | None]]:
    async with storage.sessions() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(row.action, row.subject_person_id) for row in rows]


async def test_a_caseworker_is_refused_every_person_route_outside_their_caseload(
    storage: Storage,
) -> None:
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    mine, _ = await stored_person(storage, name="Ann Jones")
    theirs, their_plan = await stored_person(storage, name="Bob Evans")
    await assign(storage, casey, mine)
    async with storage.sessions() as session, session.begin():
        session.add(HumanRequest(person_id=theirs, step="goals"))
    async with dashboard_client(storage) as (client, dashboard):
        await sign_in(client, "casey@council.example")
        csrf = await page_csrf(client)
        person_routes = [
            key
            for key, roles in dashboard.access.items()
            if "{person_id}" in key[1] and "caseworker" in roles
        ]
        assert len(person_routes) == 4
        managers_only = [
            key for key in dashboard.access if "{person_id}" in key[1] and key not in person_routes
        ]
        for method, template in person_routes:
            path = template.replace("{person_id}", str(theirs)).replace(
                "{plan_id}", str(their_plan)
            )
            response = await client.request(
                method, path, data={"csrf_token": csrf, "decision": "approve", "email": "x"}
            )
            page = await response.text()
            assert response.status == 403, (method, path)
            assert "Bob Evans" not in page and "not on your caseload" in page
        for method, template in managers_only:
            path = template.replace("{person_id}", str(theirs))
            response = await client.request(method, path, data={"csrf_token": csrf})
            assert response.status == 403 and "Bob Evans" not in await response.text()
        handled = await client.post("/staff/requests/1/handled", data={"csrf_token": csrf})
        assert handled.status == 403
        queue = await client.get("/staff/requests")
        assert "Bob Evans" not in await queue.text()
        caseload = await (await client.get("/staff/")).text()
        assert "Ann Jones" in caseload and "Bob Evans" not in caseload
        exported = await (await client.get("/staff/export/plans.csv")).text()
        assert "Ann Jones" in exported and "Bob Evans" not in exported
    assert (await plan_status(storage, their_plan or 0)).status == "submitted"
    refused = [a for a in await _actions(storage) if a[0] == "staff_access_refused"]
    assert len(refused) == len(person_routes) + 1
    assert all(subject == theirs for _, subject in refused)


async def test_every_view_of_a_person_is_audited(storage: Storage) -> None:
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, plan = await stored_person(storage, name="Ann Jones")
    await assign(storage, casey, ann)
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        for path in (
            "/staff/",
            f"/staff/people/{ann}",
            f"/staff/people/{ann}/transcript",
            f"/staff/people/{ann}/transcript?q=garden",
            f"/staff/people/{ann}/plans/{plan}",
            "/staff/requests",
            "/staff/export/plans.csv",
            "/staff/export/choices.csv",
        ):
            assert (await client.get(path)).status == 200, path
    actions = await _actions(storage)
    for expected in (
        ("staff_viewed_caseload", None),
        ("staff_viewed_person", ann),
        ("staff_viewed_transcript", ann),
        ("staff_viewed_plan", ann),
        ("staff_viewed_requests", None),
        ("staff_exported_plans", None),
        ("staff_exported_choices", None),
    ):
        assert expected in actions
    assert [a for a in actions if a[0] == "staff_viewed_transcript"] == [
        ("staff_viewed_transcript", ann)
    ] * 2
    async with storage.sessions() as session:
        details = [row.detail for row in await session.scalars(select(AuditEntry))]
    assert "garden" not in repr(details), "search words are not put in the audit log"


async def test_a_manager_sees_the_team_and_assigns_caseloads(storage: Storage) -> None:
    await add_staff(storage, "mo@council.example", "manager")
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, _ = await stored_person(storage, name="Ann Jones")
    bob, _ = await stored_person(storage, name="Bob Evans", with_plan=False)
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "mo@council.example")
        team = await (await client.get("/staff/?sort=name")).text()
        assert team.index("Ann Jones") < team.index("Bob Evans")
        only_plans = await (await client.get("/staff/?plan=submitted")).text()
        assert "Ann Jones" in only_plans and "Bob Evans" not in only_plans
        searched = await (await client.get("/staff/?q=evan")).text()
        assert "Bob Evans" in searched and "Ann Jones" not in searched
        csrf = await page_csrf(client, f"/staff/people/{bob}")
        done = await client.post(
            f"/staff/people/{bob}/caseworkers",
            data={"csrf_token": csrf, "email": "casey@council.example"},
        )
        assert "added to the caseload" in await done.text()
    async with storage.sessions() as session:
        staff = await store.staff_by_email(session, email="casey@council.example")
        assert staff is not None and staff.id == casey
        assert await store.can_see(session, staff=staff, person_id=bob)
        assert not await store.can_see(session, staff=staff, person_id=ann)


async def test_transcript_shows_the_real_conversation_and_searches_it(storage: Storage) -> None:
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, _plan = await chatted_person(storage, user_id=501, name="Ann")
    await assign(storage, casey, ann)
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        page = await (await client.get(f"/staff/people/{ann}/transcript")).text()
        assert 'class="event event-choice"' in page and 'class="event event-in"' in page
        assert "From Ann" in page and "Page 1 of 2" in page
        assert "Step 2 of 8\nWho is this plan for?" in page
        later = await (await client.get(f"/staff/people/{ann}/transcript?page=2")).text()
        assert "I feel lonely and stuck indoors since my stroke" in later
        found = await (await client.get(f"/staff/people/{ann}/transcript?q=STROKE")).text()
        matches = re.search(r"(\d+) messages? match", found)
        assert matches is not None and 1 <= int(matches.group(1)) < 81
        assert "I feel lonely and stuck indoors since my <mark>stroke</mark>" in found
        assert "Step 2 of 8" not in found
        none = await (await client.get(f"/staff/people/{ann}/transcript?q=zebra")).text()
        assert "0 messages match" in none
        hostile = await client.get(f'/staff/people/{ann}/transcript?q="%20OR%20*%20NEAR(')
        assert hostile.status == 200, "search words are never read as query syntax"


async def test_transcript_is_paginated(storage: Storage) -> None:
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, _ = await stored_person(storage, name="Ann", with_plan=False)
    await assign(storage, casey, ann)
    async with storage.sessions() as session, session.begin():
        await repositories.log_events(
            session,
            person_id=ann,
            actor_telegram_id=7,
            events=[
                repositories.LoggedEvent("in", "text", "goals", f"message number {n}")
                for n in range(120)
            ],
        )
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        first = await (await client.get(f"/staff/people/{ann}/transcript")).text()
        assert "Page 1 of 3" in first and "message number 0<" in first
        assert "message number 50<" not in first and 'rel="next"' in first
        last = await (await client.get(f"/staff/people/{ann}/transcript?page=3")).text()
        assert "message number 119" in last and 'rel="next"' not in last
        # An old link past the end shows the last page; one before the start, the first.
        past = await (await client.get(f"/staff/people/{ann}/transcript?page=9")).text()
        assert "Page 3 of 3" in past and "message number 119" in past
        before = await (await client.get(f"/staff/people/{ann}/transcript?page=-2")).text()
        assert "Page 1 of 3" in before and "message number 0<" in before
    # Searched, every page has the count of all the matches, not its own.
    async with storage.sessions() as session:
        seen: list[str] = []
        for page in (1, 2, 9):
            found = await store.transcript(session, person_id=ann, query="number", page=page)
            assert (found.total, found.pages) == (120, 3)
            seen += [event.body for event in found.events]
        assert seen == [f"message number {n}" for n in range(120)]
        found = await store.transcript(session, person_id=ann, query="number 7", page=5)
        assert (found.total, found.page, found.pages) == (1, 1, 1)
        assert [event.body for event in found.events] == ["message number 7"]


async def test_search_uses_the_full_text_index(storage: Storage) -> None:
    ann, _ = await stored_person(storage, name="Ann", with_plan=False)
    async with storage.sessions() as session, session.begin():
        await repositories.log_events(
            session,
            person_id=ann,
            actor_telegram_id=7,
            events=[
                repositories.LoggedEvent("in", "text", "goals", "I love the gardening club"),
                repositories.LoggedEvent("in", "text", "goals", "Swimming on Tuesdays"),
            ],
        )
    async with storage.sessions() as session, session.begin():
        found = await store.transcript(session, person_id=ann, query="Gardening")
        assert [e.body for e in found.events] == ["I love the gardening club"]
        # Erasing the text takes it out of the index too.
        await repositories.erase_conversation_text(session, person_id=ann)
        assert (await store.transcript(session, person_id=ann, query="gardening")).total == 0
        if session.get_bind().dialect.name == "sqlite":
            rows = await session.execute(
                text("SELECT count(*) FROM conversation_events_fts WHERE body MATCH 'gardening'")
            )
            assert rows.scalar() == 0
        else:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await session.execute(
                text(
                    "EXPLAIN SELECT id FROM conversation_events WHERE "
                    "to_tsvector('simple', conversation_events.body) "
                    "@@ plainto_tsquery('simple', 'x')"
                )
            )
            assert "ix_conversation_events_body_fts" in " ".join(r[0] for r in plan)


@pytest.mark.parametrize(
    ("language", "decision", "expected"),
    [
        ("en", "approve", "Your support plan has been agreed"),
        ("cy", "approve", "Mae eich cynllun cymorth wedi'i gytuno"),
        ("en", "return", "Your support plan has come back with comments"),
        ("cy", "return", "Mae eich cynllun cymorth wedi dod yn ôl gyda sylwadau"),
    ],
)
async def test_a_decision_reaches_the_person_in_their_language(
    storage: Storage, language: str, decision: str, expected: str
) -> None:
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, plan = await stored_person(storage, name="Siân", telegram_user_id=777, language=language)
    await assign(storage, casey, ann)
    notifier, telegram = recording_notifier()
    comment = "Please say how often <b>the club</b> meets & what it costs."
    async with dashboard_client(storage, notifier=notifier) as (client, _):
        await sign_in(client, "casey@council.example")
        csrf = await page_csrf(client, f"/staff/people/{ann}/plans/{plan}")
        response = await client.post(
            f"/staff/people/{ann}/plans/{plan}/decision",
            data={"csrf_token": csrf, "decision": decision, "comment": comment},
        )
        page = await response.text()
        assert response.status == 200
        assert "The person was sent a Telegram message about it." in page
        again = await client.post(
            f"/staff/people/{ann}/plans/{plan}/decision",
            data={"csrf_token": csrf, "decision": "approve"},
        )
        assert again.status == 409
    sent = telegram.sent(SendMessage)
    assert len(sent) == 1 and sent[0].chat_id == 777
    assert expected in sent[0].text and "Siân" in sent[0].text
    if decision == "return":
        assert "&lt;b&gt;the club&lt;/b&gt; meets &amp; what it costs" in sent[0].text
    stored = await plan_status(storage, plan or 0)
    assert stored.status == ("approved" if decision == "approve" else "returned")
    assert stored.decided_at is not None
    async with storage.sessions() as session:
        decided = await session.scalar(select(PlanDecision))
        logged = list(
            await session.scalars(
                select(ConversationEvent).where(ConversationEvent.actor_role == "staff")
            )
        )
    assert decided is not None and decided.notified_at is not None
    assert len(logged) == 1 and expected in logged[0].body
    actions = [a for a, _ in await _actions(storage)]
    assert f"plan_{stored.status}" in actions and "decision_sent" in actions


async def test_returning_needs_a_comment_and_no_bot_means_no_message(storage: Storage) -> None:
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, plan = await stored_person(storage, name="Ann", telegram_user_id=778)
    await assign(storage, casey, ann)
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        csrf = await page_csrf(client, f"/staff/people/{ann}/plans/{plan}")
        url = f"/staff/people/{ann}/plans/{plan}/decision"
        empty = await client.post(url, data={"csrf_token": csrf, "decision": "return"})
        assert empty.status == 400
        assert (await plan_status(storage, plan or 0)).status == "submitted"
        done = await client.post(url, data={"csrf_token": csrf, "decision": "approve"})
        assert "could not be sent a Telegram message" in await done.text()
    assert (await plan_status(storage, plan or 0)).status == "approved"


async def test_csv_exports_hold_plans_and_choices_and_defuse_formulas(storage: Storage) -> None:
    await add_staff(storage, "mo@council.example", "manager")
    ann, plan = await stored_person(storage, name="Ann Jones")
    async with storage.sessions() as session, session.begin():
        await repositories.log_events(
            session,
            person_id=ann,
            actor_telegram_id=9,
            events=[
                repositories.LoggedEvent(
                    "choice", "choice", "management", "management", {"before": None,
                                                                      "after": "direct_payment"}
                )
            ],
        )  # fmt: skip
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "mo@council.example")
        plans = await client.get("/staff/export/plans.csv")
        assert plans.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in plans.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO((await plans.read()).decode("utf-8-sig"))))
        assert len(rows) == 1
        row = rows[0]
        assert row["plan_id"] == str(plan) and row["person_name"] == "Ann Jones"
        assert row["budget_annual_pence"] == "520000" and row["item_annual_pence"] == "26000"
        assert row["item"].startswith("'="), "a formula is written as text"
        choices = await client.get("/staff/export/choices.csv")
        found = list(csv.DictReader(io.StringIO((await choices.read()).decode("utf-8-sig"))))
        assert [(r["choice"], r["after"]) for r in found] == [("management", "direct_payment")]


async def test_the_queue_of_requests(storage: Storage) -> None:
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, _ = await stored_person(storage, name="Ann Jones", with_plan=False)
    await assign(storage, casey, ann)
    async with storage.sessions() as session, session.begin():
        session.add(HumanRequest(person_id=ann, step="budget"))
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        queue = await (await client.get("/staff/requests")).text()
        assert "Ann Jones" in queue and "1 waiting" in queue
        caseload = await (await client.get("/staff/")).text()
        assert "asked for a person" in caseload
        request_id = re.search(r"/staff/requests/(\d+)/handled", queue)
        assert request_id is not None
        csrf = await page_csrf(client, "/staff/requests")
        done = await client.post(
            f"/staff/requests/{request_id.group(1)}/handled", data={"csrf_token": csrf}
        )
        assert "No one is waiting." in await done.text()
    async with storage.sessions() as session:
        person = await session.get_one(Person, ann)
        assert person.display_name == "Ann Jones"
    assert ("human_request_handled", ann) in await _actions(storage)
