"""A bot session that keeps what the bot would have sent instead of calling Telegram.

The local chat mode prints what it keeps; the tests assert on it. Both run the real
dispatcher, routers and middlewares: only the last hop to Telegram is replaced.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile, User
from pydantic import BaseModel, TypeAdapter

# Not a secret: a well-formed token for a bot that never talks to Telegram.
LOCAL_BOT_TOKEN = "1000000001:local-chat-mode-no-telegram"  # noqa: S105
LOCAL_BOT_USER = User(
    id=1000000001, is_bot=True, first_name="codesign-bot", username="codesign_bot"
)
_LOCAL_BOT_USER_JSON = LOCAL_BOT_USER.model_dump(exclude_none=True)


@dataclass(frozen=True, slots=True)
class SentFile:
    """A photo or document the bot sent, saved where a person can open it."""

    kind: str  # "photo" or "document"
    path: Path | None
    caption: str | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the bot made, with the file it carried (if any)."""

    method: TelegramMethod[Any]
    result: Any = None
    file: SentFile | None = None


class RecordingSession(BaseSession):
    """Answers Bot API calls locally, as Telegram would for a private chat, and records them."""

    def __init__(
        self,
        *,
        files_dir: Path | None = None,
        on_request: Callable[[Recorded], None] | None = None,
    ) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self._files_dir = files_dir
        self._on_request = on_request
        self._message_ids = itertools.count(1)

    async def close(self) -> None:
        return None

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (the BaseSession signature)
    ) -> TelegramType:
        file = await self._keep_file(bot, method)
        result = _adapter(method.__returning__).validate_python(
            self._result_for(method), context={"bot": bot}
        )
        recorded = Recorded(method, result, file)
        self.requests.append(recorded)
        if self._on_request is not None:
            self._on_request(recorded)
        return result  # type: ignore[no-any-return]

    def stream_content(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the recording session cannot download files")

    def sent(self, method_type: type[TelegramMethod[Any]] = SendMessage) -> list[Any]:
        """The recorded requests of one kind, oldest first."""
        return [r.method for r in self.requests if isinstance(r.method, method_type)]

    def clear(self) -> None:
        self.requests.clear()

    def _message(self, chat_id: Any, **fields: Any) -> dict[str, Any]:
        """The message as Telegram's JSON answer has it (validated once, as a real answer is)."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "from": _LOCAL_BOT_USER_JSON,
        }
        for name, value in fields.items():
            if value is not None:
                message[name] = (
                    value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value
                )
        return message

    def _result_for(self, method: TelegramMethod[Any]) -> Any:
        match method:
            case GetMe():
                return LOCAL_BOT_USER.model_dump()
            case SendMessage():
                return self._message(
                    method.chat_id, text=method.text, reply_markup=method.reply_markup
                )
            case SendPhoto():
                photo = {"file_id": "local", "file_unique_id": "local", "width": 1, "height": 1}
                return self._message(method.chat_id, photo=[photo], caption=method.caption)
            case SendDocument():
                document = {"file_id": "local", "file_unique_id": "local"}
                return self._message(method.chat_id, document=document, caption=method.caption)
            case EditMessageText():
                return self._message(
                    method.chat_id or 0, text=method.text, reply_markup=method.reply_markup
                )
            case EditMessageReplyMarkup() | AnswerCallbackQuery():
                return True
            case _:
                return True

    async def _keep_file(self, bot: Bot, method: TelegramMethod[Any]) -> SentFile | None:
        match method:
            case SendPhoto(photo=InputFile() as upload, caption=caption):
                kind = "photo"
            case SendDocument(document=InputFile() as upload, caption=caption):
                kind = "document"
            case _:
                return None
        if self._files_dir is None:
            return SentFile(kind, None, caption)
        self._files_dir.mkdir(parents=True, exist_ok=True)
        name = Path(upload.filename or f"{kind}.bin").name
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        path = self._files_dir / f"{stamp}-{name}"
        with path.open("wb") as target:
            async for chunk in upload.read(bot):
                target.write(chunk)
        return SentFile(kind, path, caption)


@cache
def _adapter(returning: Any) -> TypeAdapter[Any]:
    """A validator for a method's result type (building one costs more than validating)."""
    return TypeAdapter(returning)
