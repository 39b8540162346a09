"""The staff dashboard: review conversations and plans, and close the co-design loop.

`Dashboard(...).routes()` go into `bot.web.build_web_app(extra_routes=...)`, so the pages
run alone (`codesign dashboard`) or beside the bot (`codesign run`).
"""

from __future__ import annotations

from bot.dashboard.app import PREFIX, Dashboard

__all__ = ["PREFIX", "Dashboard"]
