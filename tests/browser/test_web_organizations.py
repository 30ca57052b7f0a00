"""The organization pages in Chromium: create -> invite -> accept in a second browser context ->
role change -> the member's page reflects it; settings, switch, cancel, reject, leave, delete;
JavaScript on and off."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.web_support import api_session_email, check_page, mailed_link, new_context, sign_up
from tests.live_server import LiveServerFactory

pytestmark = [pytest.mark.browser, pytest.mark.node]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_organization_journey(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    server = make_live_server()
    owner: Page = new_context(chromium, js=js).new_page()
    member: Page = new_context(chromium, js=js).new_page()
    sign_up(owner, server, "olivia@example.com", name="Olivia")
    sign_up(member, server, "mike@example.com", name="Mike")
    nora: Page = new_context(chromium, js=js).new_page()
    sign_up(nora, server, "nora@example.com", name="Nora")

    owner.get_by_role("link", name="Organizations").click()
    check_page(owner, "organizations-empty", js=js)
    owner.get_by_label("Organization name").fill("Acme")
    owner.get_by_role("button", name="Create organization").click()
    expect(owner.locator("#slug-error")).to_have_text("Enter a short name.")
    owner.get_by_label("Short name (in addresses)").fill("acme")
    owner.get_by_role("button", name="Create organization").click()
    expect(owner.get_by_role("heading", name="Acme")).to_be_visible()
    expect(owner.locator("#my-role")).to_have_text("Your role: owner")

    owner.get_by_label("Email").fill("mike@example.com")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.get_by_role("status")).to_have_text("mike@example.com is invited; we mailed them a link.")
    owner.get_by_label("Email").fill("nora@example.com")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.locator("#sent-invitations > li")).to_have_count(2)
    check_page(owner, "organization", js=js)
    owner.get_by_role("button", name="Cancel the invitation of nora@example.com").click()
    expect(owner.locator("#sent-invitations > li")).to_have_count(1)

    # Invitations are for confirmed addresses only: the member first asks for a verification link.
    link = mailed_link(server, "mike@example.com", "invited you")
    member.goto(link)
    expect(member.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    member.get_by_role("button", name="Send the confirmation link").click()  # from the invitation itself
    expect(member.get_by_role("status")).to_contain_text("a new link is on its way")
    member.goto(mailed_link(server, "mike@example.com", "verify"))
    expect(member.locator("#email-verified")).to_be_visible()

    # The member follows the mailed invitation link in their own browser and accepts.
    member.goto(link)
    expect(member.get_by_role("heading", name="Join Acme")).to_be_visible()
    check_page(member, "invitation", js=js)
    member.get_by_role("button", name="Accept").click()
    expect(member.locator("#my-role")).to_have_text("Your role: member")
    expect(member.get_by_role("button", name="Send invitation")).to_have_count(0)  # a member manages nothing

    owner.reload()
    owner.get_by_label("Role of mike@example.com").select_option("admin")
    owner.get_by_role("button", name="Save role of mike@example.com").click()
    expect(owner.get_by_role("status")).to_have_text("The role is saved.")
    member.reload()
    expect(member.locator("#my-role")).to_have_text("Your role: admin")
    expect(member.get_by_role("button", name="Send invitation")).to_be_visible()

    # Settings, and switching the active organization (seen by the API too).
    owner.get_by_label("Organization name").fill("Acme Corp")
    owner.get_by_role("button", name="Save settings").click()
    expect(owner.get_by_role("heading", name="Acme Corp")).to_be_visible()
    owner.get_by_role("link", name="All organizations").click()
    owner.get_by_label("Organization name").fill("Beta")
    owner.get_by_label("Short name (in addresses)").fill("acme")
    owner.get_by_role("button", name="Create organization").click()
    expect(owner.locator("#slug-error")).to_contain_text("already")
    owner.get_by_label("Short name (in addresses)").fill("beta")
    owner.get_by_role("button", name="Create organization").click()
    owner.get_by_role("link", name="All organizations").click()
    owner.get_by_role("button", name="Work in Acme Corp").click()
    expect(owner.get_by_role("status")).to_have_text("You now work in Acme Corp.")
    active = owner.context.request.get(f"{server.auth_url}/get-session").json()["session"]["activeOrganizationId"]
    acme = owner.context.request.get(f"{server.auth_url}/organization/list").json()
    assert active == next(o["id"] for o in acme if o["slug"] == "acme")
    check_page(owner, "organizations", js=js)

    # An invitation rejected, then the member leaves and the owner deletes the other organization.
    owner.get_by_role("link", name="Beta").click()
    owner.get_by_label("Email").fill("mike@example.com")
    owner.get_by_role("button", name="Send invitation").click()
    member.goto(f"{server.url}/organizations")
    member.get_by_role("link", name="Answer the invitation to Beta").click()
    member.get_by_role("button", name="Decline").click()
    expect(member.get_by_role("status")).to_have_text("The invitation is declined.")
    member.get_by_role("link", name="Acme Corp").click()
    member.get_by_role("button", name="Leave Acme Corp").click()
    expect(member.get_by_role("status")).to_have_text("You left the organization.")
    expect(member.locator("#organizations > li")).to_have_count(0)
    # A member removed by the owner: re-invited, confirmed address, accepted, removed.
    owner.get_by_label("Email").fill("nora@example.com")
    owner.get_by_role("button", name="Send invitation").click()
    nora.goto(f"{server.url}/verify-email/sent")
    nora.get_by_label("Email").fill("nora@example.com")
    nora.get_by_role("button", name="Send the link again").click()
    nora.goto(mailed_link(server, "nora@example.com", "verify"))
    nora.goto(mailed_link(server, "nora@example.com", "invited you"))
    nora.get_by_role("button", name="Accept").click()
    expect(nora.locator("#my-role")).to_have_text("Your role: member")
    owner.reload()
    owner.get_by_role("button", name="Remove nora@example.com").click()
    expect(owner.get_by_role("status")).to_have_text("The member is removed.")
    expect(owner.locator("#members > li")).to_have_count(1)
    nora.goto(f"{server.url}/organizations")
    expect(nora.locator("#organizations > li")).to_have_count(0)

    owner.get_by_role("button", name="Delete Beta").click()
    expect(owner.get_by_role("status")).to_have_text("The organization is deleted.")
    expect(owner.locator("#organizations > li")).to_have_count(1)
    assert api_session_email(owner.context, server) == "olivia@example.com"
