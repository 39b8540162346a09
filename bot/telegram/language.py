"""Which language to answer in when the conversation itself is not asked."""

from __future__ import annotations

from aiogram.types import User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import repositories
from bot.texts import LANGUAGES


def phone_language(user: User | None, default: str) -> str:
    """The language the person's phone reports, if we have it, else `default`."""
    code = ((user.language_code if user else None) or "").split("-")[0].lower()
    return code if code in LANGUAGES else default


async def language_for(session: AsyncSession, user: User | None, default: str) -> str:
    """The language the person chose in the conversation, else their phone's, else `default`."""
    if user is not None:
        person = await repositories.person_by_telegram_id(session, telegram_user_id=user.id)
        if person is not None:
            return person.language
    return phone_language(user, default)
