"""Helpers for the dashboard tests: a test client, staff accounts, signing in, realistic data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiohttp.test_utils import TestClient, TestServer

from bot.dashboard import Dashboard
from bot.dashboard import store as dashboard_store
from bot.dashboard.notify import BotNotifier, Notifier
from bot.runtime import Storage
from bot.storage import repositories
from bot.storage.models import Budget, Person, Plan
from bot.telegram.dispatcher import BOT_DEFAULTS
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession
from bot.web import build_web_app
from formula.schemes import load_shipped_scheme
from tests.chat_driver import person

PASSWORD = "correct horse battery staple"  # a test password
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def recording_notifier() -> tuple[Notifier, RecordingSession]:
    session = RecordingSession()
    return BotNotifier(Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)), session


@asynccontextmanager
async def dashboard_client(
    storage: Storage,
    *,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    cookie_secure: bool = False,
) -> AsyncIterator[tuple[TestClient[Any, Any], Dashboard]]:
    dashboard = Dashboard(
        sessions=storage.sessions,
        notifier=notifier,
        clock=clock or Clock(),
        cookie_secure=cookie_secure,
    )
    app = build_web_app(engine=storage.engine, extra_routes=dashboard.routes())
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, dashboard
    finally:
        await client.close()


async def add_staff(storage: Storage, email: str, role: str, password: str = PASSWORD) -> int:
    async with storage.sessions() as session, session.begin():
        return await dashboard_store.add_staff(session, email=email, role=role, password=password)


async def assign(storage: Storage, staff_id: int, person_id: int) -> None:
    async with storage.sessions() as session, session.begin():
        await dashboard_store.assign(session, staff_id=staff_id, person_id=person_id)


def csrf_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


async def sign_in(
    client: TestClient[Any, Any], email: str, password: str = PASSWORD
) -> tuple[int, str]:
    """Sign in through the form; the status and the page reached (or the login page again)."""
    form = await client.get("/staff/login")
    token = csrf_in(await form.text())
    response = await client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/staff/"},
    )
    return response.status, await response.text()


async def page_csrf(client: TestClient[Any, Any], path: str = "/staff/") -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return csrf_in(await response.text())


async def stored_person(
    storage: Storage,
    *,
    name: str,
    telegram_user_id: int | None = None,
    language: str = "en",
    with_plan: bool = True,
) -> tuple[int, int | None]:
    """A person with a council budget and, if asked, a submitted plan: (person id, plan id)."""
    async with storage.sessions() as session, session.begin():
        row = Person(
            telegram_user_id=telegram_user_id,
            display_name=name,
            language=language,
            step="submitted",
            conversation={"language": language, "goals": [{"text": "Get out more", "areas": []}]},
        )
        session.add(row)
        await session.flush()
        session.add(
            Budget(
                person_id=row.id,
                scheme_id="set-amount",
                source="council",
                annual_pence=520_000,
                weekly_pence=10_000,
                answers={},
            )
        )
        plan_id = None
        if with_plan:
            plan_id = await repositories.submit_plan(
                session,
                person_id=row.id,
                summary={
                    "budget_annual_pence": 520_000,
                    "planned_annual_pence": 26_000,
                    "management": "direct_payment",
                    "items": [
                        {
                            "name": '=HYPERLINK("http://evil")',
                            "goal": "Get out more",
                            "frequency": "per_week",
                            "annual_pence": 26_000,
                            "needs_approval": False,
                        }
                    ],
                    "goals": [{"text": "Get out more", "areas": []}],
                },
                submitted_by_telegram_id=telegram_user_id,
            )
        return row.id, plan_id


async def chatted_person(storage: Storage, *, user_id: int, name: str) -> tuple[int, int]:
    """Someone who went through the real conversation and sent a plan: (person id, plan id)."""
    p = person(storage, user_id=user_id, name=name)
    await p.say("/start")
    await p.press("English")
    await p.press_number(1)  # agree
    await p.press_number(1)  # me
    await p.press_number(2)  # estimate
    for _ in load_shipped_scheme("adult-2026").questions:
        await p.press_number(2)
    await p.say("I feel lonely and stuck indoors since my stroke")
    await p.press("Yes")
    await p.press("That's all")
    await p.press("Show me ideas")
    await p.press("1.")
    if "How often" in p.texts[-1]:
        await p.press("Once a week")
    else:
        await p.press("Add to my plan")
    await p.press("See my plan")
    await p.press("Next: how the money")
    await p.press("Direct payment")
    await p.press("Confirm")
    async with storage.sessions() as session:
        state = await repositories.person_by_telegram_id(session, telegram_user_id=user_id)
        assert state is not None
        plans = await repositories.plans_of(session, person_id=state.id)
    assert plans, "the conversation ended with a submitted plan"
    return state.id, plans[-1].id


async def plan_status(storage: Storage, plan_id: int) -> Plan:
    async with storage.sessions() as session:
        return await session.get_one(Plan, plan_id)
