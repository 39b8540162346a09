"""One webhook worker for the scale-out benchmark: `codesign run`'s service, in a process.

Settings come from the environment as for `codesign run`; the only difference is the
delivery pacing, opened up because the fake Bot API has no flood limits (Telegram's own
limits, about 30 messages a second per bot, would otherwise be what is measured).
"""

from __future__ import annotations

import asyncio
import signal

from bot.config import load_settings
from bot.logging_setup import configure_logging
from bot.runtime import open_storage
from bot.telegram.sending import DeliveryMiddleware
from bot.telegram.service import serve


async def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    storage = await open_storage(settings, apply_migrations=False)
    delivery = DeliveryMiddleware(per_chat_rate=1_000, per_chat_burst=100, global_rate=1_000_000)
    try:
        await serve(settings, storage, stop=stop, delivery=delivery)
    finally:
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
