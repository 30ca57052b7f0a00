"""The admin pages in Chromium: users (search, pages, create), role, ban and its effect on the
banned user's next page load, unban, sessions, impersonation with its banner; JavaScript on and off."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.web_support import (
    PASSWORD,
    check_page,
    expect_signed_in,
    expect_signed_out,
    new_context,
    sign_in,
    sign_up,
)
from tests.live_server import LiveServerFactory

pytestmark = [pytest.mark.browser, pytest.mark.node]

ADMIN = "root@example.com"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_admin_journey(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    server = make_live_server(ADMIN__EMAIL=ADMIN, ADMIN__PASSWORD=PASSWORD)
    for n in range(21):  # enough users for a second page
        requests.post(f"{server.auth_url}/sign-up/email", json={"name": f"Filler {n:02}", "password": PASSWORD,
                      "email": f"filler{n:02}@example.com"}, headers={"Origin": server.url},
                      timeout=10).raise_for_status()
    user: Page = new_context(chromium, js=js).new_page()
    sign_up(user, server, "mallory@example.com", name="Mallory")
    expect_signed_in(user, server, "mallory@example.com")
    user.goto(f"{server.url}/admin/users")
    expect(user.get_by_role("heading", name="Not allowed")).to_be_visible()  # not an admin
    expect(user.get_by_role("link", name="Admin")).to_have_count(0)

    admin: Page = new_context(chromium, js=js).new_page()
    sign_in(admin, server, ADMIN)
    admin.get_by_role("link", name="Admin").click()
    expect(admin.locator("#user-count")).to_have_text("23 users · page 1 of 2")
    expect(admin.locator("#users > li")).to_have_count(20)
    check_page(admin, "admin-users", js=js)
    admin.get_by_role("link", name="Next page").click()
    expect(admin.locator("#users > li")).to_have_count(3)
    admin.get_by_label("Search by email or name").fill("mallory")
    admin.get_by_role("button", name="Search").click()
    expect(admin.locator("#user-count")).to_contain_text("1 user matching")

    # Create a user; errors next to their fields first.
    admin.get_by_label("Email", exact=True).fill("mallory@example.com")
    admin.get_by_label("Name", exact=True).fill("Again")
    admin.get_by_label("Password", exact=True).fill(PASSWORD)
    admin.get_by_role("button", name="Create user").click()
    expect(admin.locator("#email-error")).to_contain_text("User already exists")
    admin.get_by_label("Email", exact=True).fill("trent@example.com")
    admin.get_by_label("Password", exact=True).fill(PASSWORD)
    admin.get_by_role("button", name="Create user").click()
    expect(admin.get_by_role("status")).to_have_text("trent@example.com can now sign in.")
    admin.get_by_role("textbox", name="Role").fill("admin")
    admin.get_by_role("button", name="Save role").click()
    expect(admin.locator("#subject-role")).to_have_text("admin")

    admin.goto(f"{server.url}/admin/users?q=mallory")
    admin.get_by_role("link", name="mallory@example.com").click()
    expect(admin.locator("#user-sessions > li")).to_have_count(1)
    check_page(admin, "admin-user", js=js)

    # Impersonate: the banner on every page, then back.
    admin.get_by_role("button", name="Impersonate mallory@example.com").click()
    expect(admin.locator("#impersonation-banner")).to_contain_text("You are acting as mallory@example.com")
    expect(admin.locator("#signed-in")).to_have_text("Signed in as mallory@example.com")
    check_page(admin, "impersonating", js=js)
    admin.goto(f"{server.url}/account")
    expect(admin.locator("#impersonation-banner")).to_be_visible()
    admin.get_by_role("button", name="Stop impersonating").click()
    expect(admin.locator("#impersonation-banner")).to_have_count(0)
    expect(admin.get_by_role("heading", name="Users")).to_be_visible()

    # Ban: the banned user's next page load is signed out, and sign-in is refused in plain words.
    admin.goto(f"{server.url}/admin/users?q=mallory")
    admin.get_by_role("link", name="mallory@example.com").click()
    admin.get_by_label("Reason").fill("Spam")
    admin.get_by_label("Ban for (days)").fill("7")
    admin.get_by_role("button", name="Ban mallory@example.com").click()
    expect(admin.locator("#ban-status")).to_contain_text("Banned: Spam (until")
    expect(admin.locator("#user-sessions > li")).to_have_count(0)
    expect_signed_out(user, server)
    sign_in(user, server, "mallory@example.com")
    expect(user.get_by_role("alert")).to_contain_text("You have been banned from this application")

    admin.get_by_role("button", name="Lift the ban").click()
    expect(admin.get_by_role("status")).to_have_text("The ban is lifted.")
    admin.get_by_label("New password").fill("a brand new one")
    admin.get_by_role("button", name="Set password").click()
    expect(admin.get_by_role("status")).to_contain_text("The password is set")
    sign_in(user, server, "mallory@example.com", "a brand new one")
    expect_signed_in(user, server, "mallory@example.com")
    admin.reload()
    expect(admin.locator("#user-sessions > li")).to_have_count(1)
    admin.get_by_role("button", name="End every session").click()
    expect(admin.get_by_role("status")).to_have_text("Every session of the user has ended.")
    expect_signed_out(user, server)
    user.context.close()
    admin.context.close()


@pytest.mark.modules("audit")
@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_audit_viewer(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    """With the audit module on, admins read the log with filters; others are refused."""
    server = make_live_server(ADMIN__EMAIL=ADMIN, ADMIN__PASSWORD=PASSWORD, MODULES__AUDIT="true")
    user: Page = new_context(chromium, js=js).new_page()
    sign_up(user, server, "una@example.com", name="Una")
    user.goto(f"{server.url}/admin/audit")
    expect(user.get_by_role("heading", name="Not allowed")).to_be_visible()

    admin: Page = new_context(chromium, js=js).new_page()
    sign_in(admin, server, ADMIN)
    admin.get_by_role("link", name="Audit log").click()
    admin.get_by_label("Action").fill("user.sign_up")
    admin.get_by_role("button", name="Filter").click()
    rows = admin.locator("#audit-entries tbody tr")
    for _ in range(50):  # entries are written off the request path: give the writer a moment
        if rows.count():
            break
        admin.wait_for_timeout(100)
        admin.reload()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("user.sign_up")
    check_page(admin, "audit", js=js)
    admin.get_by_label("Action").fill("")
    admin.goto(f"{server.url}/admin/audit?after=not-a-date")
    expect(admin.get_by_role("alert")).to_contain_text("Check the filters")
    user.context.close()
    admin.context.close()
