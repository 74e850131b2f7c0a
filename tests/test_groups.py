from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import (
    Group,
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    RoleType,
    Visibility,
)
from studygroup.groups.role_types import role_types_of
from studygroup.groups.services import join_group, leave_group
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot


def _membership(user, group):
    return db.session.scalar(
        sa.select(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id)
    )


def test_creating_a_group_makes_you_organizer_with_the_built_in_roles(client, auth, make):
    user = make.user()
    auth.login_as(user)
    response = client.post(
        "/groups/new",
        data={
            "name": "Kanazawa.rb",
            "slug": "kanazawa-rb",
            "description": "Ruby",
            "timezone": "Asia/Tokyo",
            "default_venue": "IT Business Plaza",
            "join_policy": "open",
            "visibility": "public",
            "signup_opens_days_before": "30",
            "signup_closes_hours_before": "2",
            "self_cancel_hours_before": "48",
            "no_show_limit": "",
            "reminder_lead_hours": "24, 144,24",
        },
    )
    assert response.headers["Location"] == "/g/kanazawa-rb"
    group = db.session.scalar(sa.select(Group).where(Group.slug == "kanazawa-rb"))
    assert _membership(user, group).role == MemberRole.ORGANIZER
    assert (group.signup_opens_days_before, group.self_cancel_hours_before) == (30, 48)
    assert group.no_show_limit is None
    assert group.reminder_lead_hours == "144,24" and group.reminder_leads == [144, 24]
    roles = role_types_of(db.session, group)
    assert [r.key for r in roles] == ["setup", "reception", "speaker"]
    setup = roles[0]
    assert (setup.start_offset_minutes, setup.end_offset_minutes) == (-60, 0)
    assert roles[2].requires_approval


@pytest.mark.parametrize(
    ("slug", "message"),
    [("taken", "This address is taken"), ("Bad Slug!", "lower-case letters"), ("-x", "lower-case")],
)
def test_group_form_errors_stand_next_to_the_field(client, auth, make, slug, message):
    make.group(slug="taken")
    auth.login_as(make.user())
    response = client.post(
        "/groups/new",
        data={
            "name": "X",
            "slug": slug,
            "timezone": "Asia/Tokyo",
            "join_policy": "open",
            "visibility": "public",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="slug-help"' in page


def test_unknown_time_zone_is_refused(client, auth, make):
    auth.login_as(make.user())
    response = client.post(
        "/groups/new",
        data={
            "name": "X",
            "slug": "x-group",
            "timezone": "Asia/Nowhere",
            "join_policy": "open",
            "visibility": "public",
        },
    )
    assert "Choose a time zone from the list" in response.get_data(as_text=True)


def test_join_policies(make):
    now = datetime.now(UTC)
    user = make.user()
    open_group = make.group()
    assert join_group(db.session, user=user, group=open_group, now=now).is_active
    approval = make.group(join_policy=JoinPolicy.APPROVAL)
    assert join_group(db.session, user=user, group=approval, now=now).status == "pending"
    invite_only = make.group(join_policy=JoinPolicy.INVITE)
    with pytest.raises(RuleViolation):
        join_group(db.session, user=user, group=invite_only, now=now)
    with pytest.raises(RuleViolation):
        join_group(db.session, user=user, group=invite_only, now=now, invite_token="wrong")
    assert join_group(
        db.session, user=user, group=invite_only, now=now, invite_token=invite_only.invite_token
    ).is_active


def test_invite_link_joins_and_rotation_revokes_it(client, auth, make):
    organizer = make.user()
    group = make.group(organizer, join_policy=JoinPolicy.INVITE, visibility=Visibility.MEMBERS)
    old_token = group.invite_token
    guest = make.user()
    auth.login_as(guest)
    assert client.get(f"/g/{group.slug}").status_code == 404
    assert client.get(f"/g/{group.slug}/invite/{old_token}").status_code == 200
    assert client.get(f"/g/{group.slug}/invite/not-the-token").status_code == 404
    client.post(f"/g/{group.slug}/invite/{old_token}")
    assert _membership(guest, group).is_active
    assert client.get(f"/g/{group.slug}").status_code == 200
    auth.login_as(organizer)
    client.post(f"/g/{group.slug}/invite/rotate")
    db.session.refresh(group)
    assert group.invite_token != old_token
    assert client.get(f"/g/{group.slug}/invite/{old_token}").status_code == 404


def test_approval_flow_through_the_pages(client, auth, make):
    organizer = make.user()
    group = make.group(organizer, join_policy=JoinPolicy.APPROVAL)
    applicant = make.user(display_name="Applicant")
    auth.login_as(applicant)
    client.post(f"/g/{group.slug}/join")
    membership = _membership(applicant, group)
    assert membership.status == MembershipStatus.PENDING
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/members").get_data(as_text=True)
    assert "Applicant" in page
    client.post(f"/g/{group.slug}/members/{membership.id}", data={"action": "approve"})
    assert _membership(applicant, group).is_active


def test_promote_demote_remove_and_the_last_organizer(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group)
    auth.login_as(organizer)
    target = _membership(member, group)
    client.post(f"/g/{group.slug}/members/{target.id}", data={"action": "promote"})
    assert _membership(member, group).role == MemberRole.ORGANIZER
    # The co-organizer can now manage the group.
    auth.login_as(member)
    assert client.get(f"/g/{group.slug}/members").status_code == 200
    own = _membership(organizer, group)
    client.post(f"/g/{group.slug}/members/{own.id}", data={"action": "remove"})
    assert _membership(organizer, group).status == MembershipStatus.REMOVED
    # Now the last organizer: cannot step down or leave.
    response = client.post(
        f"/g/{group.slug}/members/{target.id}", data={"action": "demote"}, follow_redirects=True
    )
    assert "at least one organizer" in response.get_data(as_text=True)
    assert _membership(member, group).role == MemberRole.ORGANIZER
    with pytest.raises(RuleViolation):
        leave_group(db.session, _membership(member, group), now=datetime.now(UTC))
    # The removed organizer's row is kept, and they cannot rejoin by themselves.
    auth.login_as(organizer)
    client.post(f"/g/{group.slug}/join")
    assert _membership(organizer, group).status == MembershipStatus.REMOVED


def test_leaving_keeps_the_membership_row_and_rejoining_reuses_it(client, auth, make):
    group = make.group()
    member = make.member(group)
    auth.login_as(member)
    client.post(f"/g/{group.slug}/leave")
    row = _membership(member, group)
    assert row.status == MembershipStatus.LEFT and row.left_at is not None
    client.post(f"/g/{group.slug}/join")
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(Membership.user_id == member.id)
        )
        == 1
    )
    assert _membership(member, group).is_active


def test_members_only_group_is_hidden_from_outsiders(client, auth, make):
    group = make.group(visibility=Visibility.MEMBERS)
    session = make.session(group)
    assert client.get(f"/g/{group.slug}").status_code == 404
    assert client.get(f"/g/{group.slug}/sessions/{session.id}").status_code == 404
    auth.login_as(make.user())
    assert client.get(f"/g/{group.slug}").status_code == 404
    assert group.name not in client.get("/groups").get_data(as_text=True)
    auth.login_as(make.member(group))
    assert client.get(f"/g/{group.slug}/sessions/{session.id}").status_code == 200


def test_role_types_add_rename_retire_restore(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/roles",
        data={
            "name": "配信 Streaming",
            "default_headcount": 1,
            "start_offset_minutes": -15,
            "start_anchor": "start",
            "end_offset_minutes": 0,
            "end_anchor": "end",
        },
    )
    assert response.status_code == 302
    streaming = db.session.scalar(sa.select(RoleType).where(RoleType.name == "配信 Streaming"))
    assert streaming.position == 3
    bad = client.post(
        f"/g/{group.slug}/roles",
        data={
            "name": "Broken",
            "default_headcount": 1,
            "start_offset_minutes": 30,
            "start_anchor": "start",
            "end_offset_minutes": 10,
            "end_anchor": "start",
        },
    )
    assert "must end after it starts" in bad.get_data(as_text=True)
    setup = role_types_of(db.session, group)[0]
    client.post(
        f"/g/{group.slug}/roles/{setup.id}/edit",
        data={
            "name": "会場設営",
            "default_headcount": 4,
            "start_offset_minutes": -90,
            "start_anchor": "start",
            "end_offset_minutes": 0,
            "end_anchor": "start",
        },
    )
    db.session.refresh(setup)
    assert (setup.name, setup.default_headcount, setup.start_offset_minutes) == ("会場設営", 4, -90)

    session_before = make.session(group)
    client.post(f"/g/{group.slug}/roles/{streaming.id}/retire")
    db.session.refresh(streaming)
    assert streaming.is_retired
    session_after = make.session(group)

    def roles_of(session):
        return set(
            db.session.scalars(
                sa.select(RoleSlot.role_type_id).where(RoleSlot.session_id == session.id)
            )
        )

    assert streaming.id in roles_of(session_before)  # history keeps the retired role
    assert streaming.id not in roles_of(session_after)
    page = client.get(f"/g/{group.slug}/sessions/{session_before.id}").get_data(as_text=True)
    assert "配信 Streaming" in page
    client.post(f"/g/{group.slug}/roles/{streaming.id}/restore")
    db.session.refresh(streaming)
    assert not streaming.is_retired


def test_another_groups_role_or_member_is_404(client, auth, make):
    organizer = make.user()
    mine = make.group(organizer)
    other = make.group()
    other_role = role_types_of(db.session, other)[0]
    other_member = db.session.scalar(sa.select(Membership).where(Membership.group_id == other.id))
    auth.login_as(organizer)
    assert client.get(f"/g/{mine.slug}/roles/{other_role.id}/edit").status_code == 404
    assert client.post(f"/g/{mine.slug}/roles/{other_role.id}/retire").status_code == 404
    assert (
        client.post(
            f"/g/{mine.slug}/members/{other_member.id}", data={"action": "remove"}
        ).status_code
        == 404
    )
    assert client.get(f"/g/{other.slug}/roles").status_code == 403


def test_invite_link_activates_a_pending_request(client, auth, make):
    group = make.group(join_policy=JoinPolicy.APPROVAL, visibility=Visibility.MEMBERS)
    applicant = make.user()
    membership = join_group(db.session, user=applicant, group=group, now=datetime.now(UTC))
    db.session.commit()
    assert membership.status == MembershipStatus.PENDING
    auth.login_as(applicant)
    client.post(f"/g/{group.slug}/invite/{group.invite_token}")
    assert _membership(applicant, group).is_active


def test_role_window_with_mixed_anchors_is_refused(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/roles",
        data={
            "name": "Odd",
            "default_headcount": 1,
            "start_offset_minutes": 0,
            "start_anchor": "end",
            "end_offset_minutes": 30,
            "end_anchor": "start",
        },
    )
    assert "cannot end relative to its start" in response.get_data(as_text=True)


def test_names_of_spaces_only_are_refused(client, auth, make):
    auth.login_as(make.user())
    response = client.post(
        "/groups/new",
        data={
            "name": "   ",
            "slug": "spaces",
            "timezone": "Asia/Tokyo",
            "join_policy": "open",
            "visibility": "public",
        },
    )
    assert "Please fill this in." in response.get_data(as_text=True)


def test_login_prompt_is_translated(client, make):
    group = make.group()
    response = client.get(
        f"/g/{group.slug}/roles", headers={"Accept-Language": "ja"}, follow_redirects=True
    )
    assert "ログインしてください" in response.get_data(as_text=True)
