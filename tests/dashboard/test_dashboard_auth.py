"""Signing in and out, sessions, throttling, CSRF, headers, deny by default, roles."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.dashboard import security
from bot.runtime import Storage
from bot.storage.models import AuditEntry
from bot.storage.staff import StaffAccount, StaffSession
from tests.dashboard.dashboard_helpers import (
    PASSWORD,
    Clock,
    add_staff,
    csrf_in,
    dashboard_client,
    page_csrf,
    sign_in,
)

REAL_HASHER = security.hasher  # before the tests' cheap stand-in replaces it
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def test_password_is_stored_as_argon2id(storage: Storage) -> None:
    await add_staff(storage, "Casey@Council.example", "caseworker")
    async with storage.sessions() as session:
        account = await session.scalar(select(StaffAccount))
    assert account is not None and account.email == "casey@council.example"
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


async def test_sign_in_sets_a_safe_cookie_and_signs_out(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    async with dashboard_client(storage) as (client, _):
        form = await client.get("/staff/login")
        token = csrf_in(await form.text())
        response = await client.post(
            "/staff/login",
            data={"email": "casey@council.example", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status == 303
        cookie = response.headers.getone("Set-Cookie")
        assert "codesign_staff=" in cookie and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie and "Secure" not in cookie
        home = await client.get("/staff/")
        assert home.status == 200 and "My caseload" in await home.text()
        csrf = await page_csrf(client)
        out = await client.post("/staff/logout", data={"csrf_token": csrf}, allow_redirects=False)
        assert out.status == 303
        after = await client.get("/staff/", allow_redirects=False)
        assert after.status == 303 and after.headers["Location"].startswith("/staff/login")
    async with storage.sessions() as session:
        rows = list(await session.scalars(select(StaffSession)))
        actions = [a.action for a in await session.scalars(select(AuditEntry))]
    assert len(rows) == 1 and rows[0].ended_at is not None
    assert rows[0].token_hash != "" and len(rows[0].token_hash) == 64
    assert "staff_signed_in" in actions and "staff_signed_out" in actions


async def test_cookie_is_secure_under_https(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    async with dashboard_client(storage, cookie_secure=True) as (client, _):
        form = await client.get("/staff/login")
        assert "Secure" in form.headers.getone("Set-Cookie")
        assert form.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_each_sign_in_is_a_new_session(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        first = client.session.cookie_jar.filter_cookies(client.make_url("/staff/"))
        old = first["codesign_staff"].value
        await sign_in(client, "casey@council.example")
        new = client.session.cookie_jar.filter_cookies(client.make_url("/staff/"))
        assert new["codesign_staff"].value != old
    async with storage.sessions() as session:
        old_row = await session.scalar(
            select(StaffSession).where(StaffSession.token_hash == security.token_hash(old))
        )
    assert old_row is not None and old_row.ended_at is not None


async def test_wrong_password_and_unknown_account_look_the_same(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    async with dashboard_client(storage) as (client, _):
        status, page = await sign_in(client, "casey@council.example", "not the password")
        assert status == 401 and "The email or password is not right." in page
        status, page = await sign_in(client, "nobody@council.example")
        assert status == 401 and "The email or password is not right." in page


async def test_failed_sign_ins_are_throttled(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    clock = Clock()
    async with dashboard_client(storage, clock=clock) as (client, _):
        for _ in range(5):
            status, _page = await sign_in(client, "casey@council.example", "guess guess guess")
            assert status == 401
        status, page = await sign_in(client, "casey@council.example")
        assert status == 429 and "Too many failed attempts" in page
        clock.advance(minutes=16)
        status, _page = await sign_in(client, "casey@council.example")
        assert status == 200  # the caseload, after the redirect


async def test_idle_and_absolute_timeouts(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    clock = Clock()
    async with dashboard_client(storage, clock=clock) as (client, dashboard):
        await sign_in(client, "casey@council.example")
        clock.advance(minutes=29)
        assert (await client.get("/staff/", allow_redirects=False)).status == 200
        clock.advance(minutes=31)
        idle = await client.get("/staff/", allow_redirects=False)
        assert idle.status == 303, "idle for more than 30 minutes: signed out"

        await sign_in(client, "casey@council.example")
        for _ in range(17):  # busy all day, a request every 29 minutes
            clock.advance(minutes=29)
            response = await client.get("/staff/", allow_redirects=False)
        assert dashboard.longest.total_seconds() == 8 * 3600
        assert response.status == 303, "more than 8 hours after signing in: signed out"


async def test_forms_without_the_csrf_token_are_refused(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        for data in ({}, {"csrf_token": "forged"}):
            refused = await client.post("/staff/logout", data=data)
            assert refused.status == 403
            assert "did not come from this site" in await refused.text()
        assert (await client.get("/staff/", allow_redirects=False)).status == 200
        login = await client.post(
            "/staff/login",
            data={"email": "casey@council.example", "password": PASSWORD, "csrf_token": "x"},
        )
        assert login.status == 403


async def test_every_page_has_the_security_headers(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    async with dashboard_client(storage) as (client, _):
        pages = [await client.get("/staff/login"), await client.get("/staff/static/dashboard.css")]
        await sign_in(client, "casey@council.example")
        pages += [await client.get("/staff/"), await client.get("/staff/people/999")]
        for response in pages:
            for name, value in HEADERS.items():
                assert response.headers[name] == value
            csp = response.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert response.headers["Cache-Control"] == "no-store"


def _concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "1", path)


async def test_every_route_refuses_anonymous_access(storage: Storage) -> None:
    async with dashboard_client(storage) as (client, dashboard):
        app_routes = {
            (route.method, route.resource.canonical)
            for route in client.app.router.routes()  # type: ignore[union-attr]
            if route.resource is not None and route.resource.canonical.startswith("/staff")
        }
        # aiohttp answers HEAD with the GET handler (guarded the same way).
        heads = {(m, p) for m, p in app_routes if m == "HEAD"}
        assert {("GET", p) for _, p in heads} <= app_routes
        app_routes -= heads
        assert app_routes == set(dashboard.access), "every route is in the access table"
        public = {key for key, roles in dashboard.access.items() if not roles}
        assert public == {
            ("GET", "/staff/login"),
            ("POST", "/staff/login"),
            ("GET", "/staff/static/dashboard.css"),
            ("GET", "/staff"),
        }
        for method, path in sorted(app_routes - public):
            response = await client.request(method, _concrete(path), data={}, allow_redirects=False)
            if method == "GET":
                assert response.status == 303, path
                assert response.headers["Location"].startswith("/staff/login?next="), path
            else:
                assert response.status == 403, path
        bounce = await client.get("/staff", allow_redirects=False)
        assert bounce.headers["Location"] == "/staff/"


async def test_roles_are_checked(storage: Storage) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    await add_staff(storage, "ada@council.example", "admin")
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "casey@council.example")
        for path in ("/staff/audit", "/staff/accounts"):
            assert (await client.get(path)).status == 403
    async with dashboard_client(storage) as (client, _):
        status, page = await sign_in(client, "ada@council.example")
        assert status == 200 and "Staff accounts" in page
        for path in ("/staff/requests", "/staff/people/1", "/staff/export/plans.csv"):
            assert (await client.get(path)).status == 403, path
        assert (await client.get("/staff/audit")).status == 200


async def test_admin_adds_and_switches_off_accounts(storage: Storage) -> None:
    await add_staff(storage, "ada@council.example", "admin")
    async with dashboard_client(storage) as (client, _):
        await sign_in(client, "ada@council.example")
        csrf = await page_csrf(client, "/staff/accounts")
        short = await client.post(
            "/staff/accounts",
            data={"csrf_token": csrf, "email": "new@council.example", "role": "manager",
                  "password": "short"},
        )  # fmt: skip
        assert short.status == 400 and "at least 12 characters" in await short.text()
        added = await client.post(
            "/staff/accounts",
            data={"csrf_token": csrf, "email": "new@council.example", "role": "manager",
                  "password": PASSWORD},
        )  # fmt: skip
        assert added.status == 200 and "new@council.example" in await added.text()
        async with storage.sessions() as session:
            new = await session.scalar(
                select(StaffAccount).where(StaffAccount.email == "new@council.example")
            )
        assert new is not None and new.role == "manager"
        off = await client.post(
            f"/staff/accounts/{new.id}/active", data={"csrf_token": csrf, "active": "no"}
        )
        assert "switched off" in await off.text()
    async with dashboard_client(storage) as (client, _):
        status, _page = await sign_in(client, "new@council.example")
        assert status == 401, "a switched-off account cannot sign in"


def test_production_hashing_uses_the_recommended_argon2id_parameters() -> None:
    real = REAL_HASHER()
    assert real.type.name == "ID" and real.memory_cost >= 19 * 1024 and real.time_cost >= 2


async def test_signing_in_returns_to_the_page_asked_for_and_never_elsewhere(
    storage: Storage,
) -> None:
    await add_staff(storage, "casey@council.example", "caseworker")
    async with dashboard_client(storage) as (client, _):
        bounce = await client.get("/staff/?sort=name&plan=none", allow_redirects=False)
        login_url = bounce.headers["Location"]
        assert login_url == "/staff/login?next=/staff/%3Fsort%3Dname%26plan%3Dnone"
        for wanted, landed in (
            ("/staff/?sort=name&plan=none", "/staff/?sort=name&plan=none"),
            ("https://evil.example/staff/", "/staff/"),
            ("//evil.example/staff/", "/staff/"),
        ):
            form = await client.get("/staff/login")
            token = csrf_in(await form.text())
            response = await client.post(
                "/staff/login",
                data={"email": "casey@council.example", "password": PASSWORD,
                      "csrf_token": token, "next": wanted},
                allow_redirects=False,
            )  # fmt: skip
            assert response.headers["Location"] == landed
