"""The co-design conversation: goals, budget, ideas, plan, confirm.

Transition table (flow.mmd beside this file draws the same; keep both in step).
Presses are `action` or `action:argument`; every argument is checked against the state.

| # | step | accepts | ways out |
|---|---|---|---|
| 1 | language | press lang:en / lang:cy | consent |
| 1 | consent | press agree / decline | who / declined (nothing kept but refusal) |
| 1 | declined | /start | language |
| 2 | who | press who:self / who:other | source / carer_code |
| 2 | carer_code | text: a carer invite code; press who:self / stop | caring / source / stopped |
| 2 | caring | /whom, whom:<id> (a carer's own resting step) | the plan of whom they act for |
| 3 | source | press code / estimate | code / question |
| 3 | code | text: the link code | goal_ask (valid) / code (try again) |
| 3 | question | press opt:<option id> | question (next one) / goal_ask (estimate made) |
| 4 | goal_ask | text: a goal; press next / keep | goal_confirm / budget / goals_more |
| 4 | goal_confirm | press yes / areas / rewrite | goals_more / goal_areas / goal_ask |
| 4 | goal_areas | press area:<area> (toggle) / done | goal_areas / goal_confirm |
| 4 | goals_more | press add / edit / next | goal_ask / goal_edit / budget |
| 4 | goal_edit | press rewrite:<id> / remove:<id> / done | goal_ask / goal_edit / goals_more |
| 5 | budget | press why / ideas | budget (explained) / ideas |
| 6 | ideas | press pick:<item>, more, own, goal:<id>, plan | idea_often, ideas, own_name, plan |
| 6 | idea_often | press often:<sessions a week> / add / cancel | ideas |
| 6 | own_name | text: the idea's name | own_cost |
| 6 | own_cost | text: an amount in pounds | own_often |
| 6 | own_often | press per:<frequency> | ideas (added, or refused with the reason) |
| 7 | plan | press change / ideas / money | item_edit / ideas / management |
| 7 | item_edit | press remove:<id> / often:<id> / done | plan / idea_often / plan |
| 7 | management | press manage:<option> | review |
| 8 | review | press confirm / change | submitted / plan |
| 8 | submitted | /restart | goal_ask (a new plan, budget kept) |

At any step: /help, /back (the previous step, answers kept), /plan, /budget, /language,
/restart (after confirmation), /human (queued for staff), /stop, /carers (invite or revoke
a carer: invite:<scope>, revoke:<id>), /whom (a carer chooses whose plan: whom:<id>),
/mydata, /forget. /start resumes. Text a step cannot use, an old or forged button, a
sticker or a photo: a polite word and the step again. Nothing here raises on a person's
input. A carer acts within their scope (see `permitted`): view only looks; help proposes
(the person confirms the plan); full acts as the person would, except consent, /carers
and /forget, which only the person may do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dialogs.events import Command, Event, Press, Text, Unsupported
from dialogs.ideas import (
    RuleVerdict,
    Verdict,
    check_idea,
    check_item,
    suggest,
    understand_goal,
)
from dialogs.ports import PERSON, Actor, Scope, Services
from dialogs.replies import (
    AskForHuman,
    Attachment,
    Button,
    ChoiceMade,
    Effect,
    ExportMyData,
    ForgetConversation,
    Reply,
    RequestErasure,
    SubmitPlan,
)
from dialogs.state import Budget, Conversation, Goal, PlanItem
from formula.allocation import Answers, allocate
from formula.money import parse_pounds
from formula.pricing import Cost, Frequency, PlanLine, annual_pence, plan_total, weekly_pence
from formula.wellbeing import WellbeingArea

TOTAL_STEPS = 8
MAX_GOAL_LENGTH = 1000
MAX_NAME_LENGTH = 120
IDEAS_PER_PAGE = 4


class Step(StrEnum):
    NEW = "new"
    LANGUAGE = "language"
    CONSENT = "consent"
    DECLINED = "declined"
    WHO = "who"
    CARER_CODE = "carer_code"
    CARING = "caring"
    STOPPED = "stopped"
    SOURCE = "source"
    CODE = "code"
    QUESTION = "question"
    GOAL_ASK = "goal_ask"
    GOAL_CONFIRM = "goal_confirm"
    GOAL_AREAS = "goal_areas"
    GOALS_MORE = "goals_more"
    GOAL_EDIT = "goal_edit"
    BUDGET = "budget"
    IDEAS = "ideas"
    IDEA_OFTEN = "idea_often"
    OWN_NAME = "own_name"
    OWN_COST = "own_cost"
    OWN_OFTEN = "own_often"
    PLAN = "plan"
    ITEM_EDIT = "item_edit"
    MANAGEMENT = "management"
    REVIEW = "review"
    SUBMITTED = "submitted"


STEP_NUMBER: dict[Step, int] = {
    Step.LANGUAGE: 1, Step.CONSENT: 1, Step.DECLINED: 1,
    Step.WHO: 2, Step.CARER_CODE: 2, Step.CARING: 2, Step.STOPPED: 2,
    Step.SOURCE: 3, Step.CODE: 3, Step.QUESTION: 3,
    Step.GOAL_ASK: 4, Step.GOAL_CONFIRM: 4, Step.GOAL_AREAS: 4, Step.GOALS_MORE: 4,
    Step.GOAL_EDIT: 4,
    Step.BUDGET: 5,
    Step.IDEAS: 6, Step.IDEA_OFTEN: 6, Step.OWN_NAME: 6, Step.OWN_COST: 6, Step.OWN_OFTEN: 6,
    Step.PLAN: 7, Step.ITEM_EDIT: 7, Step.MANAGEMENT: 7,
    Step.REVIEW: 8, Step.SUBMITTED: 8,
}  # fmt: skip

# Steps that only make sense once the earlier ones are done: /plan and /budget wait for them.
NEEDS_BUDGET = {s for s, n in STEP_NUMBER.items() if n >= 4}
SESSIONS_A_WEEK = ("0.5", "1", "2", "3")
MANAGEMENT_OPTIONS = ("direct_payment", "council_managed", "third_party", "mix")
OWN_FREQUENCIES = (
    Frequency.PER_SESSION,
    Frequency.PER_WEEK,
    Frequency.PER_MONTH,
    Frequency.PER_YEAR,
    Frequency.ONE_OFF,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one event: messages to send, the state to keep, and what to record."""

    replies: tuple[Reply, ...]
    conversation: Conversation
    notice: str | None = None  # template for the short answer to a button press
    effects: tuple[Effect, ...] = ()


@dataclass
class Turn:
    """One event being answered: the state it changes and what it will send."""

    conv: Conversation
    services: Services
    actor: Actor = PERSON
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    notice: str | None = None
    arrived: bool = False  # the step was entered by this event (not asked again)

    @property
    def step(self) -> Step:
        return Step(self.conv.step) if self.conv.step in _STEP_VALUES else Step.NEW

    def say(self, template: str, **context: Any) -> None:
        self.replies.append(Reply(template, context))

    def ask(self, template: str, buttons: tuple[Button, ...] = (), **context: Any) -> None:
        """The prompt of the current step, with where the person is."""
        number = STEP_NUMBER.get(self.step)
        self.replies.append(Reply(template, context, buttons, number))

    def go(self, step: Step, *, remember: bool = True) -> None:
        """Move to `step` and ask for what it needs; `remember` lets /back return here."""
        if remember and self.conv.step != step and self.step in STEP_NUMBER:
            self.conv.history.append(self.conv.step)
            del self.conv.history[:-30]
        self.conv.step = step
        self.arrived = True
        PROMPTS[step](self)

    def finish(self, step: Step, subflow: frozenset[Step]) -> None:
        """Leave a finished sub-flow for `step`: /back then skips the sub-flow's inner steps."""
        while self.conv.history and self.conv.history[-1] in subflow:
            self.conv.history.pop()
        self.go(step, remember=False)

    def choose(self, name: str, before: Any, after: Any) -> None:
        self.effects.append(ChoiceMade(name, before, after))

    def reprompt(self, template: str, **context: Any) -> None:
        self.say(template, **context)
        PROMPTS[self.step](self)


_STEP_VALUES = {s.value for s in Step}
GOAL_SUBFLOW = frozenset({Step.GOAL_CONFIRM, Step.GOAL_AREAS})
IDEA_SUBFLOW = frozenset({Step.IDEA_OFTEN, Step.OWN_NAME, Step.OWN_COST, Step.OWN_OFTEN})


# ---- prompts: what each step asks --------------------------------------------------------


def _b(label: str, choice: str, **context: Any) -> Button:
    return Button(label, choice, context)


def _label(text: str, choice: str) -> Button:
    """A button whose label is data (a question's option, a goal), not a fixed sentence."""
    return Button("common.label", choice, {"label": text[:60]})


def prompt_new(turn: Turn) -> None:
    turn.say("common.start_hint")


def prompt_language(turn: Turn) -> None:
    turn.ask("welcome.language", (_b("welcome.english", "lang:en"), _b("welcome.welsh", "lang:cy")))


def prompt_consent(turn: Turn) -> None:
    turn.ask(
        "welcome.consent",
        (_b("welcome.agree", "agree"), _b("welcome.decline", "decline")),
    )


def prompt_declined(turn: Turn) -> None:
    turn.say("welcome.declined")


def prompt_who(turn: Turn) -> None:
    turn.ask("who.ask", (_b("who.self", "who:self"), _b("who.other", "who:other")))


def prompt_carer_code(turn: Turn) -> None:
    turn.ask("who.carer_code", (_b("who.continue_self", "who:self"), _b("who.stop", "stop")))


def prompt_caring(turn: Turn) -> None:
    turn.ask("carer.resting")


def prompt_stopped(turn: Turn) -> None:
    turn.say("common.stopped")


def prompt_source(turn: Turn) -> None:
    turn.ask("source.ask", (_b("source.code", "code"), _b("source.estimate", "estimate")))


def prompt_code(turn: Turn) -> None:
    turn.ask("source.code_ask", (_b("source.estimate_instead", "estimate"),))


def prompt_question(turn: Turn) -> None:
    scheme = turn.services.estimate_scheme
    question = scheme.questions[turn.conv.question_index]
    welsh = turn.conv.language == "cy"
    buttons = tuple(
        _label((option.label_cy if welsh and option.label_cy else option.label), f"opt:{option.id}")
        for option in question.options
    )
    turn.ask(
        "source.question",
        buttons,
        number=turn.conv.question_index + 1,
        count=len(scheme.questions),
        question=question.text_cy if welsh and question.text_cy else question.text,
    )


def prompt_goal_ask(turn: Turn) -> None:
    if turn.conv.draft.editing_goal_id is not None:
        turn.ask("goals.ask_rewrite", (_b("goals.keep", "keep"),))
    elif turn.conv.goals:
        turn.ask("goals.ask_another", (_b("goals.next", "next"),))
    else:
        turn.ask("goals.ask_first")


def prompt_goal_confirm(turn: Turn) -> None:
    draft = turn.conv.draft
    turn.ask(
        "goals.confirm",
        (_b("goals.yes", "yes"), _b("goals.change_areas", "areas"), _b("goals.rewrite", "rewrite")),
        goal=draft.goal_text,
        areas=list(draft.goal_areas),
    )


def prompt_goal_areas(turn: Turn) -> None:
    chosen = set(turn.conv.draft.goal_areas)
    buttons = tuple(
        Button(
            "goals.area_button", f"area:{area.value}", {"area": area.value, "on": area in chosen}
        )
        for area in WellbeingArea
    )
    turn.ask("goals.pick_areas", (*buttons, _b("goals.areas_done", "done")))


def prompt_goals_more(turn: Turn) -> None:
    turn.ask(
        "goals.more",
        (_b("goals.add", "add"), _b("goals.edit", "edit"), _b("goals.next", "next")),
        goals=_goals_view(turn.conv),
    )


def prompt_goal_edit(turn: Turn) -> None:
    buttons: list[Button] = []
    for number, goal in enumerate(turn.conv.goals, start=1):
        buttons.append(_b("goals.rewrite_one", f"rewrite:{goal.id}", number=number))
        buttons.append(_b("goals.remove_one", f"remove:{goal.id}", number=number))
    buttons.append(_b("goals.edit_done", "done"))
    turn.ask("goals.edit_list", tuple(buttons), goals=_goals_view(turn.conv))


def prompt_budget(turn: Turn) -> None:
    conv = turn.conv
    assert conv.budget is not None
    view = _budget_view(conv)
    turn.replies.append(
        Reply(
            "budget.show",
            view,
            (_b("budget.why", "why"), _b("budget.to_ideas", "ideas")),
            STEP_NUMBER[Step.BUDGET],
            # The chart comes when the step is reached, not each time it is asked again.
            Attachment("budget_chart", view) if turn.arrived else None,
        )
    )


def prompt_ideas(turn: Turn) -> None:
    conv = turn.conv
    goal = conv.goal(conv.current_goal_id) or (conv.goals[0] if conv.goals else None)
    if goal is None:
        turn.say("ideas.no_goals")
        conv.step = Step.GOAL_ASK
        prompt_goal_ask(turn)
        return
    conv.current_goal_id = goal.id
    found = suggest(
        goal.text,
        turn.services.catalogue,
        budget_left_pence=_left(conv),
        exclude_ids={i.catalogue_id for i in conv.items if i.catalogue_id},
        limit=IDEAS_PER_PAGE,
        offset=conv.ideas_offset,
    )
    welsh = conv.language == "cy"
    ideas = [_idea_view(s, welsh) for s in found.items]
    cheaper = [_idea_view(s, welsh) for s in found.cheaper_options[:2]]
    conv.ideas_shown = [i["id"] for i in ideas + cheaper]
    buttons = [
        _label(f"{n}. {idea['name']}", f"pick:{idea['id']}")
        for n, idea in enumerate(ideas + cheaper, start=1)
    ]
    if found.has_more:
        buttons.append(_b("ideas.more", "more"))
    buttons.append(_b("ideas.own", "own"))
    others = [g for g in conv.goals if g.id != goal.id]
    if others:
        buttons.append(_b("ideas.next_goal", f"goal:{others[0].id}"))
    buttons.append(_b("ideas.to_plan", "plan"))
    turn.ask(
        "ideas.list",
        tuple(buttons),
        goal=goal.text,
        ideas=ideas,
        cheaper=cheaper,
        left_pence=_left(conv),
        first_page=conv.ideas_offset == 0,
    )


def prompt_idea_often(turn: Turn) -> None:
    conv = turn.conv
    name, cost = _pending_cost(turn)
    if cost is None:
        conv.step = Step.IDEAS
        prompt_ideas(turn)
        return
    if cost.frequency is Frequency.PER_SESSION:
        buttons = tuple(_b("ideas.sessions", f"often:{n}", sessions=n) for n in SESSIONS_A_WEEK)
        turn.ask(
            "ideas.how_often",
            (*buttons, _b("ideas.cancel", "cancel")),
            name=name,
            unit_pence=cost.unit_pence,
        )
        return
    turn.ask(
        "ideas.confirm_add",
        (_b("ideas.add", "add"), _b("ideas.cancel", "cancel")),
        name=name,
        unit_pence=cost.unit_pence,
        frequency=cost.frequency.value,
        weekly_pence=weekly_pence(cost),
        annual_pence=annual_pence(cost),
    )


def prompt_own_name(turn: Turn) -> None:
    turn.ask("ideas.own_name")


def prompt_own_cost(turn: Turn) -> None:
    turn.ask("ideas.own_cost", name=turn.conv.draft.own_name)


def prompt_own_often(turn: Turn) -> None:
    buttons = tuple(_b("ideas.per", f"per:{f.value}", frequency=f.value) for f in OWN_FREQUENCIES)
    turn.ask(
        "ideas.own_often",
        buttons,
        name=turn.conv.draft.own_name,
        unit_pence=turn.conv.draft.own_unit_pence or 0,
    )


def prompt_plan(turn: Turn) -> None:
    view = _plan_view(turn.conv)
    buttons = [_b("plan.change", "change")] if turn.conv.items else []
    buttons += [_b("plan.more_ideas", "ideas"), _b("plan.money", "money")]
    turn.ask("plan.show", tuple(buttons), **view)


def prompt_item_edit(turn: Turn) -> None:
    buttons: list[Button] = []
    for number, item in enumerate(turn.conv.items, start=1):
        if item.frequency == Frequency.PER_SESSION:
            buttons.append(_b("plan.often_one", f"often:{item.id}", number=number))
        buttons.append(_b("plan.remove_one", f"remove:{item.id}", number=number))
    buttons.append(_b("plan.edit_done", "done"))
    turn.ask("plan.edit_list", tuple(buttons), **_plan_view(turn.conv))


def prompt_management(turn: Turn) -> None:
    buttons = tuple(_b("plan.manage", f"manage:{m}", option=m) for m in MANAGEMENT_OPTIONS)
    turn.ask("plan.management", buttons)


def prompt_review(turn: Turn) -> None:
    turn.ask(
        "review.summary",
        (_b("review.confirm", "confirm"), _b("review.change", "change")),
        **_review_view(turn.conv),
    )


def prompt_submitted(turn: Turn) -> None:
    turn.ask("review.submitted_state")


PROMPTS: dict[Step, Callable[[Turn], None]] = {
    Step.NEW: prompt_new,
    Step.LANGUAGE: prompt_language,
    Step.CONSENT: prompt_consent,
    Step.DECLINED: prompt_declined,
    Step.WHO: prompt_who,
    Step.CARER_CODE: prompt_carer_code,
    Step.CARING: prompt_caring,
    Step.STOPPED: prompt_stopped,
    Step.SOURCE: prompt_source,
    Step.CODE: prompt_code,
    Step.QUESTION: prompt_question,
    Step.GOAL_ASK: prompt_goal_ask,
    Step.GOAL_CONFIRM: prompt_goal_confirm,
    Step.GOAL_AREAS: prompt_goal_areas,
    Step.GOALS_MORE: prompt_goals_more,
    Step.GOAL_EDIT: prompt_goal_edit,
    Step.BUDGET: prompt_budget,
    Step.IDEAS: prompt_ideas,
    Step.IDEA_OFTEN: prompt_idea_often,
    Step.OWN_NAME: prompt_own_name,
    Step.OWN_COST: prompt_own_cost,
    Step.OWN_OFTEN: prompt_own_often,
    Step.PLAN: prompt_plan,
    Step.ITEM_EDIT: prompt_item_edit,
    Step.MANAGEMENT: prompt_management,
    Step.REVIEW: prompt_review,
    Step.SUBMITTED: prompt_submitted,
}


# ---- views: the data templates need ------------------------------------------------------


def _goals_view(conv: Conversation) -> list[dict[str, Any]]:
    return [
        {"text": g.text, "areas": list(g.areas), "proposed_by": g.proposed_by} for g in conv.goals
    ]


def _lines(conv: Conversation) -> list[PlanLine]:
    return [PlanLine(item.name, item.cost) for item in conv.items]


def _left(conv: Conversation) -> int | None:
    if conv.budget is None:
        return None
    return plan_total(_lines(conv), budget_annual_pence=conv.budget.annual_pence).left_annual_pence


def _budget_view(conv: Conversation) -> dict[str, Any]:
    assert conv.budget is not None
    total = plan_total(_lines(conv), budget_annual_pence=conv.budget.annual_pence)
    by_goal = []
    for goal in conv.goals:
        lines = [PlanLine(i.name, i.cost) for i in conv.items if i.goal_id == goal.id]
        annual = plan_total(lines, budget_annual_pence=0).annual_pence
        by_goal.append({"goal": goal.text, "annual_pence": annual})
    unassigned = [PlanLine(i.name, i.cost) for i in conv.items if conv.goal(i.goal_id) is None]
    if unassigned:
        by_goal.append(
            {"goal": "", "annual_pence": plan_total(unassigned, budget_annual_pence=0).annual_pence}
        )
    return {
        "source": conv.budget.source,
        "annual_pence": conv.budget.annual_pence,
        "weekly_pence": conv.budget.weekly_pence,
        "planned_annual_pence": total.annual_pence,
        "planned_weekly_pence": total.weekly_pence,
        "left_annual_pence": total.left_annual_pence,
        "over_pence": total.over_budget_pence,
        "by_goal": by_goal,
    }


def _idea_view(s: Any, welsh: bool) -> dict[str, Any]:
    item = s.item
    return {
        "id": item.id,
        "name": item.name_cy if welsh and item.name_cy else item.name,
        "description": item.description_cy if welsh and item.description_cy else item.description,
        "quotes": [m.quote for m in s.why.matched][:2],
        "weekly_pence": s.weekly_pence,
        "annual_pence": s.annual_pence,
        "fits": s.fits_budget,
        "alternative_to": s.alternative_to,
        "frequency": item.cost.frequency.value,
        "unit_pence": item.cost.unit_pence,
    }


def _plan_view(conv: Conversation) -> dict[str, Any]:
    budget = conv.budget.annual_pence if conv.budget else 0
    total = plan_total(_lines(conv), budget_annual_pence=budget)
    items = [
        {
            "name": item.name,
            "goal": (conv.goal(item.goal_id) or Goal(0, "", [])).text,
            "frequency": item.frequency,
            "sessions": item.sessions_per_week,
            "unit_pence": item.unit_pence,
            "weekly_pence": weekly_pence(item.cost),
            "annual_pence": annual_pence(item.cost),
            "needs_approval": item.verdict == Verdict.NEEDS_APPROVAL,
            "reason": item.reason,
            "proposed_by": item.proposed_by,
        }
        for item in conv.items
    ]
    return {
        "items": items,
        "budget_annual_pence": budget,
        "budget_weekly_pence": conv.budget.weekly_pence if conv.budget else 0,
        "planned_annual_pence": total.annual_pence,
        "planned_weekly_pence": total.weekly_pence,
        "left_annual_pence": total.left_annual_pence,
        "left_weekly_pence": total.left_weekly_pence,
        "over_pence": total.over_budget_pence,
        "estimate": bool(conv.budget and conv.budget.source == "estimate"),
    }


def _review_view(conv: Conversation) -> dict[str, Any]:
    return {
        **_plan_view(conv),
        "goals": _goals_view(conv),
        "management": conv.management or "",
        "acting_for": conv.acting_for or "self",
    }


def plan_summary(conv: Conversation) -> dict[str, Any]:
    """The confirmed plan as plain data: what is saved for staff and printed in the PDF."""
    return {**_review_view(conv), "language": conv.language or "en"}


# ---- handlers: what each step does with an event -----------------------------------------

PressHandler = Callable[[Turn, str], Awaitable[bool]]


def _to(step: Step) -> PressHandler:
    """A press that only moves on to `step`."""

    async def move(turn: Turn, _: str) -> bool:
        turn.go(step)
        return True

    return move


async def on_press(turn: Turn, choice: str) -> bool:
    """Carry out a press that makes sense at this step; False if it does not."""
    action, _, argument = choice.partition(":")
    handler = PRESSES.get((turn.step, action))
    if handler is None:
        return False
    return await handler(turn, argument)


async def on_text(turn: Turn, text: str) -> bool:
    handler = TEXTS.get(turn.step)
    if handler is None:
        return False
    return await handler(turn, text)


def _set_language(turn: Turn, language: str) -> bool:
    if language not in ("en", "cy"):
        return False
    turn.choose("language", turn.conv.language, language)
    turn.conv.language = language
    return True


async def press_language(turn: Turn, language: str) -> bool:
    if not _set_language(turn, language):
        return False
    turn.go(Step.CONSENT)
    return True


async def press_agree(turn: Turn, _: str) -> bool:
    turn.choose("consent", turn.conv.consent, True)
    turn.conv.consent = True
    turn.go(Step.WHO)
    return True


async def press_decline(turn: Turn, _: str) -> bool:
    language = turn.conv.language
    turn.conv = Conversation(step=Step.DECLINED, language=language)
    turn.effects = [ForgetConversation()]
    PROMPTS[Step.DECLINED](turn)
    return True


async def press_who(turn: Turn, who: str) -> bool:
    if who not in ("self", "other"):
        return False
    turn.choose("acting_for", turn.conv.acting_for, who)
    turn.conv.acting_for = who
    code, turn.conv.pending_code = turn.conv.pending_code, ""
    if not code:
        turn.go(Step.SOURCE if who == "self" else Step.CARER_CODE)
        return True
    # The code from the deep link is used as if typed at the step that asks for it.
    turn.conv.history.append(turn.conv.step)
    turn.conv.step = Step.CODE if who == "self" else Step.CARER_CODE
    return await (text_code if who == "self" else text_carer_code)(turn, code)


async def press_estimate(turn: Turn, _: str) -> bool:
    turn.conv.answers = {}
    turn.conv.question_index = 0
    turn.go(Step.QUESTION)
    return True


async def text_code(turn: Turn, text: str) -> bool:
    code = "".join(text.split()).upper()
    if await turn.services.codes_blocked():
        turn.reprompt("source.code_wait")
        return True
    budget = await turn.services.redeem_link_code(code) if 4 <= len(code) <= 64 else None
    if budget is None:
        turn.reprompt("source.code_wrong")
        return True
    _take_budget(turn, budget)
    turn.say("source.code_ok", annual_pence=budget.annual_pence, weekly_pence=budget.weekly_pence)
    turn.go(Step.GOAL_ASK)
    return True


async def text_carer_code(turn: Turn, text: str) -> bool:
    code = "".join(text.split()).upper()
    if await turn.services.codes_blocked():
        turn.reprompt("source.code_wait")
        return True
    cared = await turn.services.accept_invite(code) if 4 <= len(code) <= 64 else None
    if cared is None:
        turn.reprompt("source.code_wrong")
        return True
    turn.choose("carer_for", None, cared.person_id)
    turn.conv.step = Step.CARING
    turn.say("carer.accepted", name=cared.name, scope=cared.scope.value)
    return True


def _take_budget(turn: Turn, budget: Budget) -> None:
    before = turn.conv.budget.annual_pence if turn.conv.budget else None
    turn.choose("budget", before, budget.annual_pence)
    turn.conv.budget = budget


async def press_option(turn: Turn, option_id: str) -> bool:
    scheme = turn.services.estimate_scheme
    conv = turn.conv
    question = scheme.questions[conv.question_index]
    if option_id not in {o.id for o in question.options}:
        return False
    turn.choose(f"answer:{question.id}", conv.answers.get(question.id), option_id)
    conv.answers[question.id] = option_id
    if conv.question_index + 1 < len(scheme.questions):
        conv.question_index += 1
        PROMPTS[Step.QUESTION](turn)
        return True
    contribution = 0 if scheme.means_tested else None
    allocation = allocate(Answers(dict(conv.answers), contribution), scheme)
    budget = Budget(
        source="estimate",
        scheme_id=scheme.id,
        annual_pence=allocation.annual_pence,
        weekly_pence=allocation.weekly_pence,
        contribution_annual_pence=allocation.contribution_annual_pence,
        points=allocation.points,
        lines=[line.as_dict() for line in allocation.lines],
    )
    _take_budget(turn, budget)
    turn.say(
        "source.estimate_done",
        annual_pence=budget.annual_pence,
        weekly_pence=budget.weekly_pence,
        means_tested=scheme.means_tested,
    )
    turn.go(Step.GOAL_ASK)
    return True


async def text_goal(turn: Turn, text: str) -> bool:
    text = " ".join(text.split())
    if len(text) < 3:
        turn.reprompt("goals.too_short")
        return True
    text = text[:MAX_GOAL_LENGTH]
    reading = understand_goal(text, turn.services.catalogue)
    turn.conv.draft.goal_text = text
    turn.conv.draft.goal_areas = [a.value for a in reading.areas[:3]]
    if not reading.areas:
        turn.go(Step.GOAL_AREAS)
        return True
    turn.go(Step.GOAL_CONFIRM)
    return True


async def press_goal_yes(turn: Turn, _: str) -> bool:
    conv, draft = turn.conv, turn.conv.draft
    if not draft.goal_text:
        return False
    if not draft.goal_areas:
        turn.reprompt("goals.need_area")
        return True
    existing = conv.goal(draft.editing_goal_id)
    if existing is not None:
        turn.choose(f"goal:{existing.id}", existing.text, draft.goal_text)
        existing.text, existing.areas = draft.goal_text, list(draft.goal_areas)
    else:
        goal = Goal(conv.new_id(), draft.goal_text, list(draft.goal_areas), _proposer(turn))
        conv.goals.append(goal)
        turn.choose(f"goal:{goal.id}", None, goal.text)
    draft.goal_text, draft.goal_areas, draft.editing_goal_id = "", [], None
    turn.finish(Step.GOALS_MORE, GOAL_SUBFLOW)
    return True


async def press_toggle_area(turn: Turn, area: str) -> bool:
    if area not in {a.value for a in WellbeingArea}:
        return False
    areas = turn.conv.draft.goal_areas
    if area in areas:
        areas.remove(area)
    else:
        areas.append(area)
    PROMPTS[Step.GOAL_AREAS](turn)
    return True


async def press_areas_done(turn: Turn, _: str) -> bool:
    if not turn.conv.draft.goal_areas:
        turn.reprompt("goals.need_area")
        return True
    turn.go(Step.GOAL_CONFIRM, remember=False)
    return True


async def press_goal_keep(turn: Turn, _: str) -> bool:
    turn.conv.draft.editing_goal_id = None
    turn.go(Step.GOALS_MORE, remember=False)
    return True


async def press_goals_next(turn: Turn, _: str) -> bool:
    if not turn.conv.goals:
        turn.reprompt("goals.need_one")
        return True
    turn.go(Step.BUDGET)
    return True


async def press_goal_rewrite_one(turn: Turn, goal_id: str) -> bool:
    goal = turn.conv.goal(_int(goal_id))
    if goal is None:
        return False
    turn.conv.draft.editing_goal_id = goal.id
    turn.go(Step.GOAL_ASK)
    return True


async def press_goal_remove_one(turn: Turn, goal_id: str) -> bool:
    conv = turn.conv
    goal = conv.goal(_int(goal_id))
    if goal is None:
        return False
    turn.choose(f"goal:{goal.id}", goal.text, None)
    conv.goals.remove(goal)
    for item in conv.items:
        if item.goal_id == goal.id:
            item.goal_id = None
    turn.say("goals.removed", goal=goal.text)
    if conv.goals:
        PROMPTS[Step.GOAL_EDIT](turn)
    else:
        turn.go(Step.GOAL_ASK, remember=False)
    return True


async def press_goal_edit_done(turn: Turn, _: str) -> bool:
    turn.go(Step.GOALS_MORE, remember=False)
    return True


def _localised_lines(turn: Turn, budget: Budget) -> list[dict[str, Any]]:
    """The explanation lines with the scheme's Welsh names when the person speaks Welsh."""
    lines = [dict(line) for line in budget.lines]
    scheme = turn.services.estimate_scheme
    if turn.conv.language != "cy" or scheme.id != budget.scheme_id:
        return lines
    bands = {band.id: band for band in scheme.bands}
    for line in lines:
        values, key = dict(line["values"]), line["key"]
        if key in scheme.question_by_id and "topic" in values:
            question = scheme.question_by_id[key]
            values["topic"] = question.topic_cy or question.topic
        elif line["kind"] == "group_weight" and key in scheme.groups:
            values["name"] = scheme.groups[key].name_cy or scheme.groups[key].name
        elif line["kind"] == "band" and key in bands:
            values["name"] = bands[key].name_cy or bands[key].name
        elif line["kind"] == "carer_element" and scheme.carer_element is not None:
            values["name"] = scheme.carer_element.name_cy or scheme.carer_element.name
        line["values"] = values
    return lines


async def press_why(turn: Turn, _: str) -> bool:
    budget = turn.conv.budget
    assert budget is not None
    turn.ask(
        "budget.why_lines",
        (_b("budget.to_ideas", "ideas"),),
        lines=_localised_lines(turn, budget),
        source=budget.source,
        annual_pence=budget.annual_pence,
        weekly_pence=budget.weekly_pence,
    )
    return True


async def press_to_ideas(turn: Turn, _: str) -> bool:
    turn.conv.ideas_offset = 0
    turn.go(Step.IDEAS)
    return True


async def press_pick(turn: Turn, item_id: str) -> bool:
    conv = turn.conv
    if item_id not in conv.ideas_shown or turn.services.catalogue.get(item_id) is None:
        return False
    conv.draft.item_id, conv.draft.editing_item_id = item_id, None
    turn.go(Step.IDEA_OFTEN)
    return True


async def press_more(turn: Turn, _: str) -> bool:
    turn.conv.ideas_offset += IDEAS_PER_PAGE
    PROMPTS[Step.IDEAS](turn)
    return True


async def press_own(turn: Turn, _: str) -> bool:
    turn.conv.draft.own_name, turn.conv.draft.own_unit_pence = "", None
    turn.go(Step.OWN_NAME)
    return True


async def press_other_goal(turn: Turn, goal_id: str) -> bool:
    goal = turn.conv.goal(_int(goal_id))
    if goal is None:
        return False
    turn.conv.current_goal_id, turn.conv.ideas_offset = goal.id, 0
    PROMPTS[Step.IDEAS](turn)
    return True


def _reason(turn: Turn, verdict: RuleVerdict) -> str:
    """The spending rule's reason in the person's language (the council's Welsh, if given)."""
    if turn.conv.language == "cy" and verdict.reason_cy:
        return verdict.reason_cy
    return verdict.reason


def _pending_cost(turn: Turn) -> tuple[str, Cost | None]:
    conv = turn.conv
    editing = conv.item(conv.draft.editing_item_id)
    if editing is not None:
        return editing.name, editing.cost
    item = turn.services.catalogue.get(conv.draft.item_id or "")
    if item is None:
        return "", None
    welsh = conv.language == "cy"
    return (item.name_cy if welsh and item.name_cy else item.name), item.cost


def _proposer(turn: Turn) -> str:
    """A helping carer's name on what they add: the person confirms the plan."""
    return turn.actor.name if turn.actor.scope is Scope.HELP else ""


def _add_item(turn: Turn, item: PlanItem) -> None:
    item.proposed_by = _proposer(turn)
    conv = turn.conv
    conv.items.append(item)
    turn.choose(
        f"item:{item.id}", None, {"name": item.name, "annual_pence": annual_pence(item.cost)}
    )
    conv.draft.item_id = None
    _added(turn, item)


def _added(turn: Turn, item: PlanItem) -> None:
    view = _plan_view(turn.conv)
    turn.say(
        "ideas.added",
        name=item.name,
        annual_pence=annual_pence(item.cost),
        weekly_pence=weekly_pence(item.cost),
        left_annual_pence=view["left_annual_pence"],
        over_pence=view["over_pence"],
        needs_approval=item.verdict == Verdict.NEEDS_APPROVAL,
        reason=item.reason,
    )
    turn.notice = "ideas.notice_added"


async def press_often(turn: Turn, sessions: str) -> bool:
    if sessions not in SESSIONS_A_WEEK:
        return False
    conv = turn.conv
    editing = conv.item(conv.draft.editing_item_id)
    if editing is not None:
        before = editing.sessions_per_week
        editing.sessions_per_week = sessions
        turn.choose(f"item:{editing.id}:sessions", before, sessions)
        conv.draft.editing_item_id = None
        _added(turn, editing)
        turn.finish(Step.PLAN, IDEA_SUBFLOW)
        return True
    return _add_catalogue_item(turn, sessions)


async def press_add(turn: Turn, _: str) -> bool:
    return _add_catalogue_item(turn, "1")


def _add_catalogue_item(turn: Turn, sessions: str) -> bool:
    conv = turn.conv
    item = turn.services.catalogue.get(conv.draft.item_id or "")
    if item is None:
        return False
    verdict = check_item(item, turn.services.spending_rules)
    name, cost = _pending_cost(turn)
    if verdict.verdict is Verdict.NOT_ALLOWED or cost is None:
        turn.say("ideas.not_allowed", name=name, reason=_reason(turn, verdict))
    else:
        _add_item(
            turn,
            PlanItem(
                id=conv.new_id(),
                goal_id=conv.current_goal_id,
                name=name,
                catalogue_id=item.id,
                unit_pence=cost.unit_pence,
                frequency=cost.frequency.value,
                sessions_per_week=sessions,
                verdict=verdict.verdict.value,
                reason=_reason(turn, verdict) if verdict.verdict is Verdict.NEEDS_APPROVAL else "",
            ),
        )
    turn.finish(Step.IDEAS, IDEA_SUBFLOW)
    return True


async def press_cancel(turn: Turn, _: str) -> bool:
    turn.conv.draft.item_id = None
    back_to_plan = turn.conv.draft.editing_item_id is not None
    turn.conv.draft.editing_item_id = None
    turn.finish(Step.PLAN if back_to_plan else Step.IDEAS, IDEA_SUBFLOW)
    return True


async def text_own_name(turn: Turn, text: str) -> bool:
    name = " ".join(text.split())[:MAX_NAME_LENGTH]
    if len(name) < 2:
        turn.reprompt("ideas.own_name_short")
        return True
    turn.conv.draft.own_name = name
    turn.go(Step.OWN_COST)
    return True


async def text_own_cost(turn: Turn, text: str) -> bool:
    cleaned = text.lower().replace("pounds", "").replace("pound", "").replace("gbp", "").strip()
    try:
        pence = parse_pounds(cleaned)
    except ValueError:
        turn.reprompt("ideas.own_cost_wrong", typed=text[:40])
        return True
    if pence <= 0 or pence > 100_000_00:
        turn.reprompt("ideas.own_cost_wrong", typed=text[:40])
        return True
    turn.conv.draft.own_unit_pence = pence
    turn.go(Step.OWN_OFTEN)
    return True


async def press_own_often(turn: Turn, frequency: str) -> bool:
    conv, draft = turn.conv, turn.conv.draft
    if frequency not in {f.value for f in OWN_FREQUENCIES} or draft.own_unit_pence is None:
        return False
    cost = Cost(draft.own_unit_pence, Frequency(frequency))
    verdict = check_idea(draft.own_name, cost=cost, rules=turn.services.spending_rules)
    if verdict.verdict is Verdict.NOT_ALLOWED:
        turn.say("ideas.not_allowed", name=draft.own_name, reason=_reason(turn, verdict))
        turn.choose("own_idea_refused", draft.own_name, verdict.rule_id)
    else:
        _add_item(
            turn,
            PlanItem(
                id=conv.new_id(),
                goal_id=conv.current_goal_id,
                name=draft.own_name,
                catalogue_id=None,
                unit_pence=cost.unit_pence,
                frequency=cost.frequency.value,
                verdict=verdict.verdict.value,
                reason=_reason(turn, verdict) if verdict.verdict is Verdict.NEEDS_APPROVAL else "",
            ),
        )
    draft.own_name, draft.own_unit_pence = "", None
    turn.finish(Step.IDEAS, IDEA_SUBFLOW)
    return True


async def press_plan_change(turn: Turn, _: str) -> bool:
    if not turn.conv.items:
        return False
    turn.go(Step.ITEM_EDIT)
    return True


async def press_plan_ideas(turn: Turn, _: str) -> bool:
    turn.conv.ideas_offset = 0
    turn.go(Step.IDEAS)
    return True


async def press_item_remove(turn: Turn, item_id: str) -> bool:
    item = turn.conv.item(_int(item_id))
    if item is None:
        return False
    turn.conv.items.remove(item)
    turn.choose(f"item:{item.id}", {"name": item.name}, None)
    turn.say("plan.removed", name=item.name)
    turn.notice = "plan.notice_removed"
    if turn.conv.items:
        PROMPTS[Step.ITEM_EDIT](turn)
    else:
        turn.go(Step.PLAN, remember=False)
    return True


async def press_item_often(turn: Turn, item_id: str) -> bool:
    item = turn.conv.item(_int(item_id))
    if item is None or item.frequency != Frequency.PER_SESSION:
        return False
    turn.conv.draft.editing_item_id = item.id
    turn.go(Step.IDEA_OFTEN)
    return True


async def press_item_done(turn: Turn, _: str) -> bool:
    turn.go(Step.PLAN, remember=False)
    return True


async def press_manage(turn: Turn, option: str) -> bool:
    if option not in MANAGEMENT_OPTIONS:
        return False
    turn.choose("management", turn.conv.management, option)
    turn.conv.management = option
    turn.go(Step.REVIEW)
    return True


async def press_confirm(turn: Turn, _: str) -> bool:
    conv = turn.conv
    if conv.submitted:
        return False
    for goal in conv.goals:
        goal.proposed_by = ""  # confirmed by the person: no longer a proposal
    for item in conv.items:
        item.proposed_by = ""
    summary = plan_summary(conv)
    conv.submitted = True
    turn.choose("plan", "draft", "submitted")
    turn.effects.append(SubmitPlan(summary))
    turn.conv.step = Step.SUBMITTED
    turn.replies.append(Reply("review.submitted", summary, (), 8, Attachment("plan_pdf", summary)))
    turn.notice = "review.notice_sent"
    return True


PRESSES: dict[tuple[Step, str], PressHandler] = {
    (Step.LANGUAGE, "lang"): press_language,
    (Step.CONSENT, "agree"): press_agree,
    (Step.CONSENT, "decline"): press_decline,
    (Step.WHO, "who"): press_who,
    (Step.CARER_CODE, "who"): press_who,
    (Step.CARER_CODE, "stop"): _to(Step.STOPPED),
    (Step.SOURCE, "code"): _to(Step.CODE),
    (Step.SOURCE, "estimate"): press_estimate,
    (Step.CODE, "estimate"): press_estimate,
    (Step.QUESTION, "opt"): press_option,
    (Step.GOAL_ASK, "next"): press_goals_next,
    (Step.GOAL_ASK, "keep"): press_goal_keep,
    (Step.GOAL_CONFIRM, "yes"): press_goal_yes,
    (Step.GOAL_CONFIRM, "areas"): _to(Step.GOAL_AREAS),
    (Step.GOAL_CONFIRM, "rewrite"): _to(Step.GOAL_ASK),
    (Step.GOAL_AREAS, "area"): press_toggle_area,
    (Step.GOAL_AREAS, "done"): press_areas_done,
    (Step.GOALS_MORE, "add"): _to(Step.GOAL_ASK),
    (Step.GOALS_MORE, "edit"): _to(Step.GOAL_EDIT),
    (Step.GOALS_MORE, "next"): press_goals_next,
    (Step.GOAL_EDIT, "rewrite"): press_goal_rewrite_one,
    (Step.GOAL_EDIT, "remove"): press_goal_remove_one,
    (Step.GOAL_EDIT, "done"): press_goal_edit_done,
    (Step.BUDGET, "why"): press_why,
    (Step.BUDGET, "ideas"): press_to_ideas,
    (Step.IDEAS, "pick"): press_pick,
    (Step.IDEAS, "more"): press_more,
    (Step.IDEAS, "own"): press_own,
    (Step.IDEAS, "goal"): press_other_goal,
    (Step.IDEAS, "plan"): _to(Step.PLAN),
    (Step.IDEA_OFTEN, "often"): press_often,
    (Step.IDEA_OFTEN, "add"): press_add,
    (Step.IDEA_OFTEN, "cancel"): press_cancel,
    (Step.OWN_OFTEN, "per"): press_own_often,
    (Step.PLAN, "change"): press_plan_change,
    (Step.PLAN, "ideas"): press_plan_ideas,
    (Step.PLAN, "money"): _to(Step.MANAGEMENT),
    (Step.ITEM_EDIT, "remove"): press_item_remove,
    (Step.ITEM_EDIT, "often"): press_item_often,
    (Step.ITEM_EDIT, "done"): press_item_done,
    (Step.MANAGEMENT, "manage"): press_manage,
    (Step.REVIEW, "confirm"): press_confirm,
    (Step.REVIEW, "change"): _to(Step.PLAN),
}

TextHandler = Callable[[Turn, str], Awaitable[bool]]
TEXTS: dict[Step, TextHandler] = {
    Step.CODE: text_code,
    Step.CARER_CODE: text_carer_code,
    Step.GOAL_ASK: text_goal,
    Step.OWN_NAME: text_own_name,
    Step.OWN_COST: text_own_cost,
}


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


# ---- commands: available at any step -----------------------------------------------------


def command_start(turn: Turn, argument: str) -> None:
    code = "".join(ch for ch in argument.upper() if ch.isalnum())[:64]
    if turn.step in (Step.NEW, Step.DECLINED):
        # A deep link (t.me/bot?start=CODE) brings a code: kept until consent is given.
        turn.conv = Conversation(step=Step.LANGUAGE, pending_code=code)
        turn.say("welcome.greeting")
        PROMPTS[Step.LANGUAGE](turn)
        return
    if turn.step is Step.STOPPED:
        turn.conv.step = turn.conv.history.pop() if turn.conv.history else Step.LANGUAGE
    turn.reprompt("common.welcome_back")


def command_help(turn: Turn, _: str) -> None:
    turn.reprompt("common.help", step=turn.step.value)


def command_back(turn: Turn, _: str) -> None:
    conv = turn.conv
    if turn.step is Step.QUESTION and conv.question_index > 0:
        conv.question_index -= 1
        turn.reprompt("common.went_back")
        return
    # Skip entries for the step we are on (a list shown again) and half-entered steps.
    while conv.history and (conv.history[-1] == conv.step or _needs_draft(conv, conv.history[-1])):
        conv.history.pop()
    if turn.step is Step.SUBMITTED or not conv.history:
        turn.reprompt("common.cannot_go_back")
        return
    conv.step = conv.history.pop()
    conv.draft.editing_item_id = None
    turn.reprompt("common.went_back")


def _needs_draft(conv: Conversation, step: str) -> bool:
    """Steps that only make sense with something half-entered, which is gone."""
    draft = conv.draft
    if step in GOAL_SUBFLOW:
        return not draft.goal_text
    if step == Step.IDEA_OFTEN:
        return draft.item_id is None and draft.editing_item_id is None
    if step in (Step.OWN_COST, Step.OWN_OFTEN):
        return not draft.own_name
    return False


def command_plan(turn: Turn, _: str) -> None:
    if turn.step not in NEEDS_BUDGET or turn.conv.budget is None:
        turn.reprompt("common.not_yet", what="plan")
        return
    turn.say("plan.show_brief", **_plan_view(turn.conv))
    PROMPTS[turn.step](turn)


def command_budget(turn: Turn, _: str) -> None:
    if turn.conv.budget is None:
        turn.reprompt("common.not_yet", what="budget")
        return
    turn.say("budget.brief", **_budget_view(turn.conv))
    PROMPTS[turn.step](turn)


def command_language(turn: Turn, argument: str) -> None:
    if argument in ("en", "cy"):
        _set_language(turn, argument)
        turn.reprompt("common.language_set")
        return
    buttons = (_b("welcome.english", "setlang:en"), _b("welcome.welsh", "setlang:cy"))
    turn.replies.append(Reply("common.language_choose", {}, buttons))


def command_restart(turn: Turn, _: str) -> None:
    conv = turn.conv
    if not conv.submitted:
        turn.reprompt("common.restart_not_yet")
        return
    turn.conv = Conversation(
        step=Step.GOAL_ASK,
        language=conv.language,
        consent=True,
        acting_for=conv.acting_for,
        budget=conv.budget,
        next_id=conv.next_id,
    )
    turn.choose("plan", "submitted", "new draft")
    turn.say("common.restarted")
    PROMPTS[Step.GOAL_ASK](turn)


def command_human(turn: Turn, _: str) -> None:
    turn.effects.append(AskForHuman(turn.step.value))
    turn.reprompt("common.human_queued")


def command_stop(turn: Turn, _: str) -> None:
    if turn.step in (Step.NEW, Step.DECLINED, Step.STOPPED):
        turn.reprompt("common.stopped")
        return
    turn.conv.history.append(turn.conv.step)
    turn.conv.step = Step.STOPPED
    turn.say("common.stopped")


def command_mydata(turn: Turn, _: str) -> None:
    turn.effects.append(ExportMyData())
    turn.say("rights.mydata")


def command_forget(turn: Turn, _: str) -> None:
    turn.effects.append(RequestErasure())
    turn.reprompt("rights.forget")


COMMANDS: dict[str, Callable[[Turn, str], None]] = {
    "start": command_start,
    "help": command_help,
    "back": command_back,
    "plan": command_plan,
    "budget": command_budget,
    "language": command_language,
    "restart": command_restart,
    "human": command_human,
    "stop": command_stop,
    "mydata": command_mydata,
    "forget": command_forget,
}
# Commands that change records through a port answer later (async): see `_async_commands`.
ASYNC_COMMANDS = {"carers", "whom"}
# Before consent only these make sense: nothing is stored about a person who has not agreed.
BEFORE_CONSENT = {"start", "help", "language", "stop", "back", "whom"}


# ---- carers and scopes --------------------------------------------------------------------

# What a carer may do, by scope. Everything not listed for a carer is refused politely.
VIEW_COMMANDS = {"start", "help", "plan", "budget", "stop", "whom", "mydata"}
HELP_COMMANDS = VIEW_COMMANDS | {"back", "human"}
FULL_COMMANDS = HELP_COMMANDS | {"restart"}
ONLY_THE_PERSON = {"carers", "forget", "language"}
# Presses only the person may make: consent, who the plan is for, and confirming the plan;
# a helping carer proposes, so confirming and money management stay with the person.
PERSON_PRESSES = {"lang", "agree", "decline", "who", "confirm"}
HELPER_CANNOT = PERSON_PRESSES | {"manage"}


def permitted(actor: Actor, event: Event) -> bool:
    """Whether `actor` may do `event` to the plan they are working on."""
    if not actor.is_carer:
        return True
    match event:
        case Command(name=name):
            if name in ONLY_THE_PERSON:
                return False
            allowed = {
                Scope.VIEW: VIEW_COMMANDS,
                Scope.HELP: HELP_COMMANDS,
                Scope.FULL: FULL_COMMANDS,
            }[actor.scope or Scope.VIEW]
            return name in allowed or name not in COMMANDS
        case Press(choice=choice):
            action = choice.partition(":")[0]
            if action in ("whom", "setlang"):
                return action == "whom"
            if actor.scope is Scope.FULL:
                return action not in PERSON_PRESSES
            return actor.scope is Scope.HELP and action not in HELPER_CANNOT
        case Text():
            return actor.scope in (Scope.HELP, Scope.FULL)
        case Unsupported():
            return True


async def command_carers(turn: Turn, _: str) -> None:
    links = await turn.services.carers()
    buttons = [_b("carer.invite", f"invite:{scope.value}", scope=scope.value) for scope in Scope]
    buttons += [
        _b("carer.revoke", f"revoke:{link.link_id}", name=link.name, accepted=link.accepted)
        for link in links
    ]
    carers = [
        {"name": link.name, "scope": link.scope.value, "accepted": link.accepted} for link in links
    ]
    turn.replies.append(Reply("carer.list", {"carers": carers}, tuple(buttons)))


async def command_whom(turn: Turn, _: str) -> None:
    people = await turn.services.cared_for()
    if not people:
        turn.reprompt("carer.nobody")
        return
    buttons = [_label(p.name, f"whom:{p.person_id}") for p in people]
    buttons.append(_b("carer.myself", "whom:self"))
    turn.replies.append(Reply("carer.whom", {}, tuple(buttons)))


async def press_invite(turn: Turn, scope: str) -> bool:
    if scope not in {s.value for s in Scope} or turn.actor.is_carer:
        return False
    invite = await turn.services.invite_carer(Scope(scope))
    turn.choose("carer_invited", None, scope)
    turn.say("carer.invite_code", code=invite.code, scope=scope, days=invite.valid_days)
    return True


async def press_revoke(turn: Turn, link_id: str) -> bool:
    number = _int(link_id)
    if number is None or turn.actor.is_carer:
        return False
    name = await turn.services.revoke_carer(number)
    if name is None:
        return False
    turn.choose("carer_revoked", number, None)
    turn.say("carer.revoked", name=name)
    return True


async def press_whom(turn: Turn, whom: str) -> bool:
    person_id = None if whom == "self" else _int(whom)
    if whom != "self" and person_id is None:
        return False
    cared = await turn.services.act_for(person_id)
    if person_id is not None and cared is None:
        return False
    turn.say("carer.now_for" if cared else "carer.now_self", name=cared.name if cared else "")
    return True


GLOBAL_PRESSES: dict[str, PressHandler] = {
    "invite": press_invite,
    "revoke": press_revoke,
    "whom": press_whom,
}


# ---- the entry point ---------------------------------------------------------------------


async def handle(
    conversation: Conversation,
    event: Event,
    services: Services,
    actor: Actor = PERSON,
    *,
    owned: bool = False,
) -> Outcome:
    """Answer one event; the outcome holds the new conversation.

    The conversation given is not changed, unless `owned`: then the caller hands it over
    (it was made for this event alone) and the flow works on it without a copy.
    """
    # Otherwise a copy to work on, through the stored form (half the time of copy.deepcopy).
    working = conversation if owned else Conversation.from_data(conversation.to_data())
    turn = Turn(working, services, actor)
    if not permitted(actor, event):
        turn.notice = "carer.notice_not_allowed"
        turn.reprompt("carer.not_allowed", scope=(actor.scope or Scope.VIEW).value)
        return Outcome(tuple(turn.replies), turn.conv, turn.notice, ())
    match event:
        case Command(name=name) if name in ASYNC_COMMANDS:
            if name == "carers" and not turn.conv.consent:
                turn.reprompt("common.not_yet", what="consent")
            elif name == "carers":
                await command_carers(turn, "")
            else:
                await command_whom(turn, "")
        case Press(choice=choice) if choice.partition(":")[0] in GLOBAL_PRESSES:
            action, _, argument = choice.partition(":")
            if await GLOBAL_PRESSES[action](turn, argument):
                turn.notice = "common.notice_ok"
            else:
                _stale(turn)
        case Command(name=name, argument=argument) if name in COMMANDS:
            if not turn.conv.consent and name not in BEFORE_CONSENT:
                turn.reprompt("common.not_yet", what="consent")
            elif turn.step is Step.NEW and name != "start":
                turn.say("common.start_hint")
            else:
                COMMANDS[name](turn, argument.strip().lower())
        case Command():
            turn.reprompt("common.unknown_command")
        case Press(choice=choice) if choice.startswith("setlang:"):
            if _set_language(turn, choice.removeprefix("setlang:")):
                turn.notice = "common.notice_ok"
                turn.reprompt("common.language_set")
            else:
                _stale(turn)
        case Press(choice=choice):
            if await on_press(turn, choice):
                turn.notice = turn.notice or "common.notice_ok"
            else:
                _stale(turn)
        case Text(text=text):
            if turn.step is Step.NEW:
                command_start(turn, "")
            elif not await on_text(turn, text):
                turn.reprompt("common.reprompt")
        case Unsupported(kind=kind):
            turn.reprompt("common.unsupported", kind=kind)
    return Outcome(tuple(turn.replies), turn.conv, turn.notice, tuple(turn.effects))


def _stale(turn: Turn) -> None:
    turn.notice = "common.notice_stale"
    if turn.step is Step.NEW:
        command_start(turn, "")
        return
    turn.reprompt("common.stale_button")


__all__ = ["STEP_NUMBER", "TOTAL_STEPS", "Outcome", "Step", "handle", "plan_summary"]
