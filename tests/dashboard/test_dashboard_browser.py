"""The dashboard in a real browser (Debian's Chromium, headless, driven by Playwright).

Screenshots go to test-artifacts/dashboard/. Without /usr/bin/chromium these tests skip
locally and fail in CI (CI=true), where .ci/run installs it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import SendMessage
from aiohttp import web

from bot.dashboard import Dashboard
from bot.runtime import Storage
from bot.telegram.recording import RecordingSession
from bot.web import build_web_app
from tests.dashboard.dashboard_helpers import (
    PASSWORD,
    Clock,
    add_staff,
    assign,
    chatted_person,
    plan_status,
    recording_notifier,
    stored_person,
)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"])]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true needs /usr/bin/chromium for the browser tests (.ci/run installs it)")
    pytest.skip("browser tests need Debian's Chromium: apt-get install -y chromium")


@dataclass
class Site:
    storage: Storage
    url: str
    telegram: RecordingSession
    ann: int
    ann_plan: int
    bob: int
    bob_plan: int
    stranger: int


@pytest.fixture
async def site(storage: Storage) -> AsyncIterator[Site]:
    _need_chromium()
    casey = await add_staff(storage, "casey@council.example", "caseworker")
    ann, ann_plan = await chatted_person(storage, user_id=601, name="Ann")
    bob, bob_plan = await stored_person(storage, name="Bob Evans", telegram_user_id=602)
    stranger, _ = await stored_person(storage, name="Carys Stranger", with_plan=False)
    await assign(storage, casey, ann)
    await assign(storage, casey, bob)
    notifier, telegram = recording_notifier()
    dashboard = Dashboard(sessions=storage.sessions, notifier=notifier, clock=Clock())
    runner = web.AppRunner(
        build_web_app(engine=storage.engine, extra_routes=dashboard.routes()), access_log=None
    )
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    try:
        yield Site(
            storage,
            f"http://127.0.0.1:{port}",
            telegram,
            ann,
            ann_plan,
            bob,
            bob_plan or 0,
            stranger,
        )
    finally:
        await runner.cleanup()


@pytest.fixture
async def page(site: Site) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        context = await browser.new_context(viewport={"width": 1100, "height": 900})
        tab = await context.new_page()
        tab.set_default_timeout(10_000)
        try:
            yield tab
        finally:
            await context.close()
            await browser.close()


async def _shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def _sign_in(page: Any, site: Site) -> None:
    await page.goto(f"{site.url}/staff/")
    assert "/staff/login" in page.url
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content", "the first Tab reaches the skip link"
    await page.get_by_label("Email address").fill("casey@council.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await _shot(page, "01-sign-in")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="My caseload").wait_for()


async def test_review_a_conversation_and_decide_plans(page: Any, site: Site) -> None:
    from playwright.async_api import expect

    await _sign_in(page, site)
    await expect(page.get_by_role("link", name="Ann", exact=True)).to_be_visible()
    await expect(page.get_by_text("Carys Stranger")).to_have_count(0)
    await _shot(page, "02-caseload")

    await page.get_by_role("link", name="Ann", exact=True).click()
    await page.get_by_role("heading", name="Ann", level=1).wait_for()
    await expect(page.get_by_role("heading", name="Budget")).to_be_visible()
    await _shot(page, "03-person")

    await page.get_by_role("link", name="Read the conversation").click()
    await page.get_by_role("heading", name="Conversation with Ann").wait_for()
    await _shot(page, "04-transcript")
    await page.get_by_role("searchbox", name="Search the conversation").fill("stroke")
    await page.keyboard.press("Enter")
    await expect(page.locator("mark").first).to_have_text("stroke")
    await _shot(page, "05-transcript-search")

    # Return Ann's plan with comments: she is told on Telegram.
    await page.goto(f"{site.url}/staff/people/{site.ann}/plans/{site.ann_plan}")
    await expect(page.locator("figure.chart svg")).to_be_visible()
    await page.get_by_label("Return with comments").check()
    await page.get_by_label("Comments for the person").fill("Please add how often you go.")
    await _shot(page, "06-plan-review")
    await page.get_by_role("button", name="Send the decision").click()
    await expect(page.get_by_role("status")).to_contain_text("returned with your comments")
    await _shot(page, "07-plan-returned")
    assert (await plan_status(site.storage, site.ann_plan)).status == "returned"

    # Approve Bob's.
    await page.goto(f"{site.url}/staff/people/{site.bob}/plans/{site.bob_plan}")
    await page.get_by_label("Approve").check()
    await page.get_by_role("button", name="Send the decision").click()
    await expect(page.get_by_role("status")).to_contain_text("The plan was approved.")
    await _shot(page, "08-plan-approved")
    sent = site.telegram.sent(SendMessage)
    assert [m.chat_id for m in sent] == [601, 602]
    assert "Please add how often you go." in sent[0].text
    assert "has been agreed" in sent[1].text


async def test_forged_forms_and_other_caseloads_are_refused(page: Any, site: Site) -> None:
    from playwright.async_api import expect

    await _sign_in(page, site)
    await page.goto(f"{site.url}/staff/people/{site.bob}/plans/{site.bob_plan}")
    await page.get_by_label("Approve").check()
    await page.locator("form.stack input[name=csrf_token]").evaluate("e => e.value = 'forged'")
    await page.get_by_role("button", name="Send the decision").click()
    await expect(page.get_by_role("heading", name="The form could not be sent")).to_be_visible()
    await _shot(page, "09-csrf-refused")
    assert site.telegram.sent(SendMessage) == []

    response = await page.goto(f"{site.url}/staff/people/{site.stranger}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="Not on your caseload")).to_be_visible()
    await expect(page.get_by_text("Carys Stranger")).to_have_count(0)
    await _shot(page, "10-not-on-caseload")

    await page.set_viewport_size({"width": 375, "height": 740})
    await page.goto(f"{site.url}/staff/")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "no sideways scrolling on a phone-sized screen"
    await _shot(page, "11-caseload-phone")
