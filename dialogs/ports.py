"""What the conversation needs from outside, declared as protocols.

The bot provides the real implementation (council data files and the database); tests may
provide their own. Nothing here knows how the data is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from dialogs.ideas import Catalogue, SpendingRules
from dialogs.state import Budget
from formula.rules import Scheme


class Scope(StrEnum):
    """What a carer may do for the person who invited them."""

    VIEW = "view"  # see the plan and budget
    HELP = "help"  # suggest goals and ideas; the person confirms the plan
    FULL = "full"  # act as the person would, except what only they may do


@dataclass(frozen=True, slots=True)
class CarerInvite:
    """A one-time invite code for a carer, and for how many days it works."""

    code: str
    valid_days: int


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is typing or pressing: the person themself, or a carer within a scope."""

    role: str  # "person" or "carer"
    name: str
    scope: Scope | None = None

    @property
    def is_carer(self) -> bool:
        return self.role == "carer"


PERSON = Actor("person", "")


@dataclass(frozen=True, slots=True)
class CarerView:
    link_id: int
    name: str  # empty until the invite is accepted
    scope: Scope
    accepted: bool


@dataclass(frozen=True, slots=True)
class CaredFor:
    person_id: int
    name: str
    scope: Scope


class Services(Protocol):
    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def spending_rules(self) -> SpendingRules: ...

    @property
    def estimate_scheme(self) -> Scheme:
        """The self-assessment questionnaire used for an estimate."""
        ...

    async def codes_blocked(self) -> bool:
        """Too many wrong codes lately: the person must wait before trying again."""
        ...

    async def redeem_link_code(self, code: str) -> Budget | None:
        """The budget staff set up behind a link code, or None if the code is not valid."""
        ...

    async def carers(self) -> list[CarerView]:
        """The carers linked to the person whose plan this is (not revoked)."""
        ...

    async def invite_carer(self, scope: Scope) -> CarerInvite:
        """A one-time invite code for a carer with this scope."""
        ...

    async def revoke_carer(self, link_id: int) -> str | None:
        """End a carer's access; the carer's name (or "" if not accepted), None if unknown."""
        ...

    async def accept_invite(self, code: str) -> CaredFor | None:
        """Link the person typing as a carer; whom they now care for, None if not valid."""
        ...

    async def cared_for(self) -> list[CaredFor]:
        """The people the person typing may act for."""
        ...

    async def act_for(self, person_id: int | None) -> CaredFor | None:
        """Work on this person's plan from now on (None: one's own); None if not allowed."""
        ...
