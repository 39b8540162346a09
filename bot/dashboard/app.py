"""The staff dashboard's routes: every one declares who may use it, and nobody else can.

Each request gets one database session, committed when the handler succeeds (or refuses
someone, so the refusal stays in the audit log) and rolled back otherwise. Signed-in pages
need a live session cookie; every POST needs the session's CSRF token; every response
carries the security headers. Viewing anything about a person writes an audit row.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import audit
from bot.config import Settings
from bot.dashboard import render, security, store
from bot.dashboard.notify import NoNotifier, Notifier
from bot.storage import repositories, search_index
from bot.storage.models import HumanRequest, Person, utcnow
from bot.storage.staff import ROLES, StaffAccount
from bot.texts import render as render_chat

logger = logging.getLogger("bot.dashboard")

PREFIX = "/staff"
SESSION_COOKIE = "codesign_staff"
LOGIN_COOKIE = "codesign_staff_login"
STATIC = Path(__file__).resolve().parent / "static"
COMMENT_LIMIT = 2000
TRANSCRIPT_PAGE = 50
PUBLIC: frozenset[str] = frozenset()
CASEWORK = frozenset({"caseworker", "manager"})
OVERSIGHT = frozenset({"manager", "admin"})
ADMIN = frozenset({"admin"})
EVERYONE = frozenset(ROLES)
NOTICES = {
    "approved": "The plan was approved.",
    "returned": "The plan was returned with your comments.",
    "told": "The person was sent a Telegram message about it.",
    "not-told": "The person could not be sent a Telegram message: please contact them.",
    "handled": "The request was marked as handled.",
    "added": "The account was added.",
    "changed": "The account was changed.",
    "assigned": "The person was added to the caseload.",
}

Clock = Callable[[], datetime]


class Problem(Exception):
    """A page that cannot be shown: its status, a title and one plain sentence."""

    def __init__(self, status: int, title: str, message: str, *, keep: bool = False) -> None:
        super().__init__(message)
        self.status, self.title, self.message, self.keep = status, title, message, keep


@dataclass(slots=True)
class Context:
    """One signed-in request: the request, its database session, who, and when."""

    request: web.Request
    db: AsyncSession
    staff: StaffAccount
    csrf: str
    now: datetime

    async def audit(self, action: str, person_id: int | None = None, **detail: Any) -> None:
        await audit.record(
            self.db,
            actor_kind="staff",
            actor_id=self.staff.id,
            subject_person_id=person_id,
            action=action,
            detail=detail,
        )


Handler = Callable[[Context], Awaitable[web.StreamResponse]]
PublicHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def safe_next(value: str) -> str:
    """Only a path inside the dashboard: never another site after signing in."""
    if value.startswith(PREFIX + "/") and "//" not in value and "\\" not in value:
        return value
    return PREFIX + "/"


def _field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _int(value: str, default: int = 1) -> int:
    return int(value) if value.isdigit() and len(value) < 10 else default


def _csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class Dashboard:
    """The staff pages over one database; `routes()` for `build_web_app(extra_routes=...)`."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        idle: timedelta = timedelta(minutes=30),
        longest: timedelta = timedelta(hours=8),
        cookie_secure: bool = False,
        notifier: Notifier | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions = sessions
        self.idle, self.longest = idle, longest
        self.cookie_secure = cookie_secure
        self.notifier: Notifier = notifier or NoNotifier()
        self.clock = clock
        # (method, path) -> the roles allowed; empty: a public route. Tests read it.
        self.access: dict[tuple[str, str], frozenset[str]] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        notifier: Notifier | None = None,
    ) -> Dashboard:
        return cls(
            sessions=sessions,
            idle=timedelta(minutes=settings.session_idle_minutes),
            longest=timedelta(hours=settings.session_max_hours),
            cookie_secure=settings.dashboard_cookie_secure,
            notifier=notifier,
        )

    # ---- the route table: deny by default ------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        table: list[tuple[str, str, Handler | PublicHandler, frozenset[str]]] = [
            ("GET", "/login", self.login_form, PUBLIC),
            ("POST", "/login", self.login, PUBLIC),
            ("GET", "/static/dashboard.css", self.stylesheet, PUBLIC),
            ("POST", "/logout", self.logout, EVERYONE),
            ("GET", "/", self.home, EVERYONE),
            ("GET", "/people/{person_id}", self.person, CASEWORK),
            ("GET", "/people/{person_id}/transcript", self.transcript, CASEWORK),
            ("GET", "/people/{person_id}/plans/{plan_id}", self.plan, CASEWORK),
            ("POST", "/people/{person_id}/plans/{plan_id}/decision", self.decide, CASEWORK),
            ("POST", "/people/{person_id}/caseworkers", self.assign, frozenset({"manager"})),
            ("GET", "/requests", self.requests, CASEWORK),
            ("POST", "/requests/{request_id}/handled", self.request_handled, CASEWORK),
            ("GET", "/audit", self.audit_log, OVERSIGHT),
            ("GET", "/export/plans.csv", self.export_plans, CASEWORK),
            ("GET", "/export/choices.csv", self.export_choices, CASEWORK),
            ("GET", "/accounts", self.accounts, ADMIN),
            ("POST", "/accounts", self.add_account, ADMIN),
            ("POST", "/accounts/{staff_id}/active", self.account_active, ADMIN),
        ]
        defs = [web.get(PREFIX, self._to_home, allow_head=False)]
        for method, path, handler, roles in table:
            full = PREFIX + path
            self.access[(method, full)] = roles
            wrapped = self._public(handler) if not roles else self._protect(handler, roles)  # type: ignore[arg-type]
            defs.append(web.route(method, full, wrapped))
        self.access[("GET", PREFIX)] = PUBLIC
        return defs

    async def _to_home(self, _request: web.Request) -> web.StreamResponse:
        return self._secure(see_other(PREFIX + "/"))

    def _secure(self, response: web.StreamResponse) -> web.StreamResponse:
        response.headers.update(security.SECURITY_HEADERS)
        if self.cookie_secure:
            response.headers["Strict-Transport-Security"] = security.HSTS
        return response

    def _problem_page(
        self, problem: Problem, staff: StaffAccount | None = None, csrf: str = ""
    ) -> web.Response:
        body = render.page(
            "error.html",
            {
                "title": problem.title,
                "message": problem.message,
                "staff": staff,
                "csrf": csrf,
                "nav": "",
                "notice": "",
            },
        )
        return web.Response(status=problem.status, text=body, content_type="text/html")

    def _public(self, handler: PublicHandler) -> PublicHandler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                response = await handler(request)
            except Problem as problem:
                response = self._problem_page(problem)
            return self._secure(response)

        return wrapped

    def _protect(self, handler: Handler, roles: frozenset[str]) -> PublicHandler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            now = self.clock()
            token = request.cookies.get(SESSION_COOKIE, "")
            async with self.sessions() as db:
                staff = await store.signed_in(
                    db, token=token, now=now, idle=self.idle, longest=self.longest
                )
                await db.commit()  # a timed-out session stays ended
                if staff is None:
                    if request.method == "GET":
                        target = f"{PREFIX}/login?next={quote(request.path_qs, safe='/')}"
                        response: web.StreamResponse = see_other(target)
                    else:
                        response = self._problem_page(
                            Problem(403, "Please sign in", "Your session has ended: sign in again.")
                        )
                    if token:
                        response.del_cookie(SESSION_COOKIE, path=PREFIX)
                    return self._secure(response)
                ctx = Context(request, db, staff, security.csrf_for(token), now)
                try:
                    if request.method == "POST":
                        form = await request.post()
                        if not security.same(_field(form, "csrf_token"), ctx.csrf):
                            raise Problem(
                                403,
                                "The form could not be sent",
                                "The form was out of date or did not come from this site. "
                                "Go back, reload the page and try again.",
                            )
                    if staff.role not in roles:
                        raise Problem(403, "Not allowed", "Your role cannot open this page.")
                    response = await handler(ctx)
                    await db.commit()
                except Problem as problem:
                    # Rendered first: a rollback expires `staff`, and pages cannot load it back.
                    response = self._problem_page(problem, staff, ctx.csrf)
                    if problem.keep:
                        await db.commit()
                    else:
                        await db.rollback()
                except Exception:
                    await db.rollback()
                    raise
            return self._secure(response)

        return wrapped

    def _page(self, ctx: Context, name: str, nav: str, **context: Any) -> web.Response:
        notice = NOTICES.get(ctx.request.query.get("done", ""), "")
        extra = NOTICES.get(ctx.request.query.get("told", ""), "")
        body = render.page(
            name,
            {
                "staff": ctx.staff,
                "csrf": ctx.csrf,
                "nav": nav,
                "notice": " ".join(n for n in (notice, extra) if n),
                **context,
            },
        )
        return web.Response(text=body, content_type="text/html")

    async def _person_id(self, ctx: Context) -> int:
        """The person of the URL, if this member of staff may see them (else 403, audited)."""
        person_id = _int(ctx.request.match_info["person_id"], 0)
        if not await store.can_see(ctx.db, staff=ctx.staff, person_id=person_id):
            await ctx.audit("staff_access_refused", person_id or None, method=ctx.request.method)
            raise Problem(
                403, "Not on your caseload", "This person is not on your caseload.", keep=True
            )
        return person_id

    # ---- signing in and out -----------------------------------------------------------------

    async def stylesheet(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=(STATIC / "dashboard.css").read_bytes(), content_type="text/css", charset="utf-8"
        )

    def _login_page(
        self, request: web.Request, *, error: str = "", email: str = "", status: int = 200
    ) -> web.Response:
        login_csrf = security.new_token()
        body = render.page(
            "login.html",
            {
                "staff": None,
                "csrf": login_csrf,
                "nav": "",
                "error": error,
                "email": email,
                "next": safe_next(request.query.get("next", "")),
                "notice": "You have signed out." if request.query.get("out") else "",
            },
        )
        response = web.Response(status=status, text=body, content_type="text/html")
        response.set_cookie(
            LOGIN_COOKIE,
            login_csrf,
            path=PREFIX + "/login",
            httponly=True,
            samesite="Strict",
            secure=self.cookie_secure,
        )
        return response

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        return self._login_page(request)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        email, password = _field(form, "email").strip(), _field(form, "password")
        if not security.same(_field(form, "csrf_token"), request.cookies.get(LOGIN_COOKIE, "")):
            raise Problem(
                403,
                "The form could not be sent",
                "The sign-in form was out of date. Go back, reload the page and try again.",
            )
        remote = request.remote or ""
        now = self.clock()
        async with self.sessions() as db:
            if await store.login_blocked(db, email=email, remote=remote, now=now):
                await store.record_login_attempt(
                    db, email=email, remote=remote, succeeded=False, now=now
                )
                await db.commit()
                return self._login_page(
                    request,
                    email=email,
                    status=429,
                    error="Too many failed attempts. Wait 15 minutes, then try again.",
                )
            account = await store.staff_by_email(db, email=email) if email else None
            stored = account.password_hash if account is not None and account.active else None
            ok = await _verify(stored, password)
            await store.record_login_attempt(db, email=email, remote=remote, succeeded=ok, now=now)
            if not ok or account is None:
                await db.commit()
                return self._login_page(
                    request, email=email, status=401, error="The email or password is not right."
                )
            if security.needs_rehash(account.password_hash):
                account.password_hash = security.hash_password(password)
            old = request.cookies.get(SESSION_COOKIE, "")
            if old:
                await store.end_session(db, token=old, now=now)
            token = await store.start_session(db, staff_id=account.id, now=now)
            await audit.record(
                db,
                actor_kind="staff",
                actor_id=account.id,
                subject_person_id=None,
                action="staff_signed_in",
            )
            await db.commit()
        response = see_other(safe_next(_field(form, "next")))
        response.set_cookie(
            SESSION_COOKIE,
            token,
            path=PREFIX,
            httponly=True,
            samesite="Strict",
            secure=self.cookie_secure,
        )
        response.del_cookie(LOGIN_COOKIE, path=PREFIX + "/login")
        return response

    async def logout(self, ctx: Context) -> web.StreamResponse:
        await store.end_session(ctx.db, token=ctx.request.cookies[SESSION_COOKIE], now=ctx.now)
        await ctx.audit("staff_signed_out")
        response = see_other(f"{PREFIX}/login?out=1")
        response.del_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    # ---- the caseload, a person, the transcript --------------------------------------------

    async def home(self, ctx: Context) -> web.StreamResponse:
        if ctx.staff.role == "admin":
            return see_other(PREFIX + "/accounts")
        rows = await store.caseload(ctx.db, staff=ctx.staff)
        query = ctx.request.query
        search = query.get("q", "").strip()
        plan_filter = query.get("plan", "")
        sort = query.get("sort", "activity")
        if search:
            rows = [r for r in rows if search.casefold() in r.name.casefold()]
        if plan_filter:
            rows = [r for r in rows if r.plan_status == plan_filter]
        if sort == "name":
            rows.sort(key=lambda r: r.name.casefold())
        elif sort == "plan":
            rows.sort(key=lambda r: (r.plan_status, r.name.casefold()))
        else:
            sort = "activity"
            rows.sort(
                key=lambda r: (r.last_activity is None, -(r.last_activity or ctx.now).timestamp())
            )
        await ctx.audit("staff_viewed_caseload", people=len(rows))
        return self._page(
            ctx,
            "caseload.html",
            "caseload",
            rows=rows,
            search=search,
            plan_filter=plan_filter,
            sort=sort,
            plan_states=["none", "submitted", "approved", "returned"],
            everyone=store.sees_everyone(ctx.staff),
        )

    async def person(self, ctx: Context) -> web.StreamResponse:
        person_id = await self._person_id(ctx)
        record = await store.person_record(ctx.db, person_id=person_id)
        if record is None:
            raise Problem(404, "Not found", "There is no such person.")
        caseworkers = []
        if ctx.staff.role == "manager":
            caseworkers = [
                a.email
                for a in await store.all_staff(ctx.db)
                if a.role == "caseworker" and a.active and a.email not in record.caseworkers
            ]
        await ctx.audit("staff_viewed_person", person_id)
        return self._page(ctx, "person.html", "caseload", record=record, assignable=caseworkers)

    async def transcript(self, ctx: Context) -> web.StreamResponse:
        person_id = await self._person_id(ctx)
        person = await ctx.db.get(Person, person_id)
        if person is None:
            raise Problem(404, "Not found", "There is no such person.")
        search = ctx.request.query.get("q", "").strip()[:200]
        if search and await search_index.index_new_messages(ctx.db):
            # Committed at once: the write lock it took is not held through the search,
            # which on SQLite would keep the chats waiting for as long as it runs.
            await ctx.db.commit()
        found = await store.transcript(
            ctx.db,
            person_id=person_id,
            query=search,
            page=_int(ctx.request.query.get("page", "1")),
            per_page=TRANSCRIPT_PAGE,
        )
        actors = {e.actor_telegram_id for e in found.events if e.actor_telegram_id is not None}
        names = (
            dict(
                (
                    await ctx.db.execute(
                        select(Person.telegram_user_id, Person.display_name).where(
                            Person.telegram_user_id.in_(actors)
                        )
                    )
                ).all()
            )
            if actors
            else {}
        )
        await ctx.audit(
            "staff_viewed_transcript", person_id, page=found.page, searched=bool(search)
        )
        return self._page(
            ctx,
            "transcript.html",
            "caseload",
            person=person,
            found=found,
            search=search,
            names=names,
        )

    # ---- plans ----------------------------------------------------------------------------------

    async def _plan(self, ctx: Context) -> tuple[int, Any]:
        person_id = await self._person_id(ctx)
        plan = await store.plan_of(
            ctx.db, person_id=person_id, plan_id=_int(ctx.request.match_info["plan_id"], 0)
        )
        if plan is None:
            raise Problem(404, "Not found", "This person has no such plan.")
        return person_id, plan

    async def plan(self, ctx: Context) -> web.StreamResponse:
        person_id, plan = await self._plan(ctx)
        person = await ctx.db.get_one(Person, person_id)
        items = [i for i in plan.summary.get("items", []) if isinstance(i, dict)]
        scale = max([plan.budget_annual_pence, plan.planned_annual_pence, 1])
        chart = [
            {
                "label": str(i.get("name", "")),
                "annual_pence": int(i.get("annual_pence", 0)),
                "width": round(100 * int(i.get("annual_pence", 0)) / scale, 1),
            }
            for i in items
        ]
        await ctx.audit("staff_viewed_plan", person_id, plan=plan.id)
        return self._page(
            ctx,
            "plan.html",
            "caseload",
            person=person,
            plan=plan,
            items=items,
            goals=[g for g in plan.summary.get("goals", []) if isinstance(g, dict)],
            chart=chart,
            budget_width=round(100 * plan.budget_annual_pence / scale, 1),
            planned_width=round(100 * plan.planned_annual_pence / scale, 1),
            decisions=await store.decisions_of(ctx.db, plan_id=plan.id),
            comment_limit=COMMENT_LIMIT,
            error="",
        )

    async def decide(self, ctx: Context) -> web.StreamResponse:
        person_id, plan = await self._plan(ctx)
        form = await ctx.request.post()
        choice = _field(form, "decision")
        comment = _field(form, "comment").strip().replace("\r\n", "\n")
        if choice not in ("approve", "return"):
            raise Problem(400, "Choose a decision", "Choose approve or return.")
        if choice == "return" and not comment:
            raise Problem(
                400, "Add your comments", "Say what should change when you return a plan."
            )
        if len(comment) > COMMENT_LIMIT:
            raise Problem(400, "Comments too long", f"Keep comments to {COMMENT_LIMIT} characters.")
        if plan.status != "submitted":
            raise Problem(409, "Already decided", f"This plan was already {plan.status}.")
        approve = choice == "approve"
        decision = await store.decide(
            ctx.db, plan=plan, staff_id=ctx.staff.id, approve=approve, comment=comment, now=ctx.now
        )
        await ctx.audit(f"plan_{decision.decision}", person_id, plan=plan.id)
        await ctx.db.commit()  # the decision stands whether or not the message gets through

        person = await ctx.db.get_one(Person, person_id)
        template = f"decisions.{decision.decision}"
        language = store.conversation_language(person)
        message = render_chat(template, language, {"name": person.display_name, "comment": comment})
        told = False
        if person.telegram_user_id is not None:
            told = await self.notifier.send(chat_id=person.telegram_user_id, text=message)
        if told:
            decision.notified_at = self.clock()
            await repositories.log_events(
                ctx.db,
                person_id=person_id,
                actor_telegram_id=None,
                actor_role="staff",
                events=[
                    repositories.LoggedEvent(
                        "out",
                        "message",
                        person.step,
                        message,
                        {"template": template, "plan": plan.id, "staff": ctx.staff.id},
                    )
                ],
            )
        await ctx.audit("decision_sent" if told else "decision_not_sent", person_id, plan=plan.id)
        done = "approved" if approve else "returned"
        return see_other(
            f"{PREFIX}/people/{person_id}/plans/{plan.id}?done={done}"
            f"&told={'told' if told else 'not-told'}"
        )

    async def assign(self, ctx: Context) -> web.StreamResponse:
        person_id = await self._person_id(ctx)
        form = await ctx.request.post()
        account = await store.staff_by_email(ctx.db, email=_field(form, "email"))
        if account is None or account.role != "caseworker" or not account.active:
            raise Problem(400, "Not a caseworker", "Choose an active caseworker's account.")
        if await store.assign(ctx.db, staff_id=account.id, person_id=person_id):
            await ctx.audit("caseload_assigned", person_id, staff=account.id)
        return see_other(f"{PREFIX}/people/{person_id}?done=assigned")

    # ---- the queue, the audit log, exports ------------------------------------------------------

    async def requests(self, ctx: Context) -> web.StreamResponse:
        waiting = await store.open_requests(ctx.db, staff=ctx.staff)
        await ctx.audit("staff_viewed_requests", count=len(waiting))
        return self._page(ctx, "requests.html", "requests", waiting=waiting)

    async def request_handled(self, ctx: Context) -> web.StreamResponse:
        request = await ctx.db.get(HumanRequest, _int(ctx.request.match_info["request_id"], 0))
        if request is None:
            raise Problem(404, "Not found", "There is no such request.")
        if not await store.can_see(ctx.db, staff=ctx.staff, person_id=request.person_id):
            await ctx.audit("staff_access_refused", request.person_id, method="POST")
            raise Problem(
                403, "Not on your caseload", "This person is not on your caseload.", keep=True
            )
        if request.handled_at is None:
            request.handled_at = ctx.now
            await ctx.audit("human_request_handled", request.person_id, request=request.id)
        return see_other(f"{PREFIX}/requests?done=handled")

    async def audit_log(self, ctx: Context) -> web.StreamResponse:
        query = ctx.request.query
        person_id = _int(query.get("person", ""), 0) or None
        before = _int(query.get("before", ""), 0) or None
        rows = await store.audit_rows(ctx.db, person_id=person_id, before=before)
        await ctx.audit("staff_viewed_audit", person=person_id)
        return self._page(ctx, "audit.html", "audit", rows=rows, person_id=person_id)

    def _csv(self, name: str, header: list[str], rows: list[list[Any]]) -> web.Response:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
        return web.Response(
            body=out.getvalue().encode("utf-8-sig"),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def export_plans(self, ctx: Context) -> web.StreamResponse:
        rows: list[list[Any]] = []
        plans = await store.plans_for_export(ctx.db, staff=ctx.staff)
        for plan, name in plans:
            items = [i for i in plan.summary.get("items", []) if isinstance(i, dict)] or [{}]
            for item in items:
                rows.append(
                    [
                        plan.id,
                        plan.person_id,
                        name,
                        plan.status,
                        render.machine_time(plan.submitted_at),
                        render.machine_time(plan.decided_at),
                        plan.budget_annual_pence,
                        plan.planned_annual_pence,
                        plan.management,
                        item.get("name", ""),
                        item.get("goal", ""),
                        item.get("frequency", ""),
                        item.get("annual_pence", ""),
                        "yes" if item.get("needs_approval") else ("no" if item else ""),
                    ]
                )
        await ctx.audit("staff_exported_plans", plans=len(plans))
        header = [
            "plan_id", "person_id", "person_name", "status", "submitted_at", "decided_at",
            "budget_annual_pence", "planned_annual_pence", "management", "item", "goal",
            "frequency", "item_annual_pence", "needs_approval",
        ]  # fmt: skip
        return self._csv("plans.csv", header, rows)

    async def export_choices(self, ctx: Context) -> web.StreamResponse:
        events = await store.choices_for_export(ctx.db, staff=ctx.staff)
        rows = [
            [
                e.id,
                e.person_id,
                render.machine_time(e.created_at),
                e.actor_role,
                e.actor_telegram_id or "",
                e.kind,
                e.step,
                e.body,
                e.detail.get("before", ""),
                e.detail.get("after", ""),
            ]
            for e in events
        ]
        await ctx.audit("staff_exported_choices", choices=len(rows))
        header = [
            "event_id", "person_id", "time", "actor_role", "actor_telegram_id", "kind", "step",
            "choice", "before", "after",
        ]  # fmt: skip
        return self._csv("choices.csv", header, rows)

    # ---- staff accounts (admins) ----------------------------------------------------------------

    async def accounts(self, ctx: Context, *, error: str = "") -> web.StreamResponse:
        return self._page(
            ctx,
            "accounts.html",
            "accounts",
            accounts=await store.all_staff(ctx.db),
            roles=ROLES,
            error=error,
        )

    async def add_account(self, ctx: Context) -> web.StreamResponse:
        form = await ctx.request.post()
        try:
            staff_id = await store.add_staff(
                ctx.db,
                email=_field(form, "email"),
                role=_field(form, "role"),
                password=_field(form, "password"),
            )
        except store.AccountError as error:
            response = await self.accounts(ctx, error=str(error))
            response.set_status(400)
            return response
        await ctx.audit("staff_account_added", staff=staff_id, role=_field(form, "role"))
        return see_other(f"{PREFIX}/accounts?done=added")

    async def account_active(self, ctx: Context) -> web.StreamResponse:
        staff_id = _int(ctx.request.match_info["staff_id"], 0)
        account = await ctx.db.get(StaffAccount, staff_id)
        if account is None:
            raise Problem(404, "Not found", "There is no such account.")
        if account.id == ctx.staff.id:
            raise Problem(400, "Not allowed", "You cannot switch off your own account.")
        active = _field(await ctx.request.post(), "active") == "yes"
        await store.set_active(ctx.db, staff_id=staff_id, active=active, now=ctx.now)
        await ctx.audit("staff_account_changed", staff=staff_id, active=active)
        return see_other(f"{PREFIX}/accounts?done=changed")


async def _verify(stored_hash: str | None, password: str) -> bool:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(security.verify_password, stored_hash, password)
