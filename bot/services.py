"""The council's data and the database, as the conversation's `Services` port needs them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import repositories
from dialogs.ideas import Catalogue, SpendingRules, load_catalogue, load_spending_rules
from dialogs.state import Budget
from formula.rules import Scheme
from formula.schemes import load_shipped_scheme

ESTIMATE_SCHEME = "adult-2026"


@dataclass(frozen=True, slots=True)
class CouncilData:
    """Everything read from the council's files, loaded once per process."""

    catalogue: Catalogue
    spending_rules: SpendingRules
    estimate_scheme: Scheme


@cache
def council_data(scheme_id: str = ESTIMATE_SCHEME) -> CouncilData:
    return CouncilData(load_catalogue(), load_spending_rules(), load_shipped_scheme(scheme_id))


class ConversationServices:
    """The `dialogs.ports.Services` of one update: council data plus this update's session."""

    def __init__(self, data: CouncilData, session: AsyncSession, person_id: int) -> None:
        self._data = data
        self._session = session
        self._person_id = person_id

    @property
    def catalogue(self) -> Catalogue:
        return self._data.catalogue

    @property
    def spending_rules(self) -> SpendingRules:
        return self._data.spending_rules

    @property
    def estimate_scheme(self) -> Scheme:
        return self._data.estimate_scheme

    async def redeem_link_code(self, code: str) -> Budget | None:
        found = await repositories.redeem_link_code(
            self._session, code=code, person_id=self._person_id
        )
        if found is None:
            return None
        lines = found.explanation.get("lines", [])
        return Budget(
            source="council",
            scheme_id=found.scheme_id,
            annual_pence=found.annual_pence,
            weekly_pence=found.weekly_pence,
            contribution_annual_pence=found.contribution_annual_pence,
            points=found.explanation.get("points"),
            lines=list(lines) if isinstance(lines, list) else [],
        )
