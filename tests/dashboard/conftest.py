"""Dashboard tests hash passwords with cheap argon2id parameters: the real ones take ~0.5 s."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from bot.dashboard import security

_CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "hasher", lambda: _CHEAP)
