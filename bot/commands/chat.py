"""`codesign chat`: talk to the assistant in this terminal, no Telegram token needed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.commands import CommandError
from bot.config import Settings, load_settings
from bot.runtime import configure_logging


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="talk to the assistant in this terminal (no Telegram needed)",
        description=(
            "Talk to the assistant in this terminal. Type a message and press Enter; "
            "type a button's number or label to press it. End with Ctrl-D."
        ),
    )
    parser.add_argument(
        "--user", type=int, default=1, metavar="ID", help="play the person with this id (default 1)"
    )
    parser.add_argument("--name", default="Sam", help="the person's first name (default Sam)")
    parser.add_argument(
        "--language", default="en", choices=["en", "cy"], help="the phone's language (default en)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.user <= 0:
        raise CommandError("--user must be a positive number")
    settings = load_settings()
    configure_logging(settings, quiet=True)
    return asyncio.run(_chat(args, settings))


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    # aiogram takes seconds to import: only the commands that talk to people pay for it.
    from aiogram.types import User

    from bot import attachments
    from bot.commands._runtime import storage_for
    from bot.local_chat import LocalChat
    from bot.telegram.dispatcher import build_dispatcher

    attachments.use_drawing_processes(settings.drawing_processes)
    attachments.start_drawing()  # its font is ready by the time the budget is shown
    try:
        async with storage_for(settings, apply_migrations=True) as storage:
            dispatcher = build_dispatcher(
                sessions=storage.sessions,
                default_language=settings.default_language,
                link_code_days=settings.link_code_days,
            )
            user = User(
                id=args.user, is_bot=False, first_name=args.name, language_code=args.language
            )
            chat = LocalChat(dispatcher, user=user, files_dir=settings.data_dir / "chat-files")
            interactive = sys.stdin.isatty()
            if interactive:
                print("codesign-bot local chat. Type /start to begin; Ctrl-D to leave.", flush=True)
            await chat.run(sys.stdin, interactive=interactive)
            await chat.bot.session.close()
    finally:  # the drawing process ends with the chat, whatever happened
        attachments.stop_drawing()
    return 0
