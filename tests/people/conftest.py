"""People, carers and records: helpers that walk people to where a test needs them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiogram import Dispatcher
from aiogram.methods import SendDocument

from bot.runtime import Storage
from bot.storage import repositories
from tests.chat_driver import Person, person


async def code_for(storage: Storage, *, annual_pence: int = 520_00, days: int = 14) -> str:
    async with storage.sessions() as session, session.begin():
        return await repositories.create_link_code(
            session,
            display_name="",
            scheme_id="adult-2026",
            annual_pence=annual_pence,
            weekly_pence=annual_pence // 52,
            valid_for=timedelta(days=days),
        )


async def ready_person(
    storage: Storage, *, user_id: int, name: str, dispatcher: Dispatcher | None = None
) -> Person:
    """Someone who agreed, has a council budget and is asked for their goals."""
    p = person(storage, user_id=user_id, name=name, dispatcher=dispatcher)
    await p.say("/start")
    await p.press("English")
    await p.press("Yes, go on")
    await p.press("Me")
    await p.press("I have a code")
    await p.say(await code_for(storage))
    return p


async def invite(p: Person, scope_label: str) -> str:
    """The person invites a carer from the chat; the code they are given."""
    await p.say("/carers")
    await p.press(f"Invite someone who can {scope_label}")
    text = p.texts[-1]
    return text.split("invite code: ")[1].split()[0]


async def carer_accepts(storage: Storage, code: str, *, user_id: int, name: str) -> Person:
    c = person(storage, user_id=user_id, name=name)
    await c.say("/start")
    await c.press("English")
    await c.press("Yes, go on")
    await c.press("Someone I care for")
    await c.say(code)
    return c


def sent_json(p: Person) -> Any:
    documents = p.session.sent(SendDocument)
    upload = next(d.document for d in reversed(documents) if d.document.filename == "my-data.json")
    return json.loads(upload.data)
