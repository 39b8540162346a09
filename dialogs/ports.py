"""What the conversation needs from outside, declared as protocols.

The bot provides the real implementation (council data files and the database); tests may
provide their own. Nothing here knows how the data is stored.
"""

from __future__ import annotations

from typing import Protocol

from dialogs.ideas import Catalogue, SpendingRules
from dialogs.state import Budget
from formula.rules import Scheme


class Services(Protocol):
    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def spending_rules(self) -> SpendingRules: ...

    @property
    def estimate_scheme(self) -> Scheme:
        """The self-assessment questionnaire used for an estimate."""
        ...

    async def redeem_link_code(self, code: str) -> Budget | None:
        """The budget staff set up behind a link code, or None if the code is not valid."""
        ...
