"""The council's data and the database, as the conversation's `Services` port needs them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.storage import repositories
from dialogs.ideas import Catalogue, SpendingRules, load_catalogue, load_spending_rules
from dialogs.ports import CaredFor, CarerInvite, CarerView, Scope
from dialogs.state import Budget
from formula.rules import Scheme
from formula.schemes import load_shipped_scheme

ESTIMATE_SCHEME = "adult-2026"
INVITE_VALID_FOR = timedelta(days=14)  # LINK_CODE_DAYS's default


@dataclass(frozen=True, slots=True)
class CouncilData:
    """Everything read from the council's files, loaded once per process."""

    catalogue: Catalogue
    spending_rules: SpendingRules
    estimate_scheme: Scheme


@cache
def council_data(scheme_id: str = ESTIMATE_SCHEME) -> CouncilData:
    return CouncilData(load_catalogue(), load_spending_rules(), load_shipped_scheme(scheme_id))


@dataclass(frozen=True, slots=True)
class Who:
    """One update's people: who typed (`actor_id`, a person row) and whose plan it is."""

    actor_id: int
    actor_telegram_id: int
    actor_kind: str  # "person" or "carer"
    subject_id: int

    def audit_event(self, action: str, detail: Mapping[str, object]) -> audit.AuditEvent:
        """`action` done by the actor to the subject's record, for the turn's audit rows."""
        return audit.AuditEvent(
            self.actor_kind, self.actor_telegram_id, self.subject_id, action, detail
        )


class ConversationServices:
    """The `dialogs.ports.Services` of one update: council data plus this update's session.

    What they audit joins `audit_events`, which the turn appends to the person's own chain
    with its other rows when it is saved (`turns.save_turn`).
    """

    def __init__(
        self,
        data: CouncilData,
        session: AsyncSession,
        who: Who,
        audit_events: list[audit.AuditEvent],
        *,
        invite_valid_for: timedelta = INVITE_VALID_FOR,
    ) -> None:
        self._data = data
        self._session = session
        self._who = who
        self._audit_events = audit_events
        self._invite_valid_for = invite_valid_for

    @property
    def catalogue(self) -> Catalogue:
        return self._data.catalogue

    @property
    def spending_rules(self) -> SpendingRules:
        return self._data.spending_rules

    @property
    def estimate_scheme(self) -> Scheme:
        return self._data.estimate_scheme

    def _audit(self, action: str, **detail: object) -> None:
        self._audit_events.append(self._who.audit_event(action, detail))

    async def codes_blocked(self) -> bool:
        blocked = await repositories.codes_blocked(
            self._session, telegram_user_id=self._who.actor_telegram_id
        )
        if blocked:
            self._audit("code_blocked")
        return blocked

    async def _attempted(self, *, succeeded: bool, kind: str) -> None:
        await repositories.record_code_attempt(
            self._session, telegram_user_id=self._who.actor_telegram_id, succeeded=succeeded
        )
        self._audit(f"{kind}_{'redeemed' if succeeded else 'refused'}")

    async def redeem_link_code(self, code: str) -> Budget | None:
        found = await repositories.redeem_link_code(
            self._session, code=code, person_id=self._who.subject_id
        )
        await self._attempted(succeeded=found is not None, kind="link_code")
        if found is None:
            return None
        if found.provisioned_person_id is not None:
            await repositories.merge_provisioned(
                self._session,
                provisioned_id=found.provisioned_person_id,
                person_id=self._who.subject_id,
            )
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

    async def carers(self) -> list[CarerView]:
        links = await repositories.carer_links(self._session, person_id=self._who.subject_id)
        return [CarerView(v.id, v.carer_name, Scope(v.scope), v.accepted) for v in links]

    async def invite_carer(self, scope: Scope) -> CarerInvite:
        code = await repositories.create_carer_invite(
            self._session,
            person_id=self._who.subject_id,
            scope=scope.value,
            created_by="person",
            valid_for=self._invite_valid_for,
        )
        self._audit("carer_invited", scope=scope.value)
        return CarerInvite(code, self._invite_valid_for.days)

    async def revoke_carer(self, link_id: int) -> str | None:
        name = await repositories.revoke_carer(
            self._session, person_id=self._who.subject_id, link_id=link_id
        )
        if name is not None:
            self._audit("carer_revoked", link=link_id)
        return name

    async def accept_invite(self, code: str) -> CaredFor | None:
        link = await repositories.accept_carer_invite(
            self._session, code=code, carer_id=self._who.actor_id
        )
        await self._attempted(succeeded=link is not None, kind="carer_invite")
        if link is None:
            return None
        self._audit_events.append(
            audit.AuditEvent(
                "carer",
                self._who.actor_telegram_id,
                link.person_id,
                "carer_accepted",
                {"link": link.id, "scope": link.scope},
            )
        )
        return CaredFor(link.person_id, link.person_name, Scope(link.scope))

    async def cared_for(self) -> list[CaredFor]:
        links = await repositories.cared_for(self._session, carer_id=self._who.actor_id)
        return [CaredFor(v.person_id, v.person_name, Scope(v.scope)) for v in links]

    async def act_for(self, person_id: int | None) -> CaredFor | None:
        if person_id is None:
            await repositories.set_acting_for(
                self._session, person_id=self._who.actor_id, acting_for_id=None
            )
            return None
        link = await repositories.active_link(
            self._session, person_id=person_id, carer_id=self._who.actor_id
        )
        if link is None:
            return None
        await repositories.set_acting_for(
            self._session, person_id=self._who.actor_id, acting_for_id=person_id
        )
        return CaredFor(link.person_id, link.person_name, Scope(link.scope))
