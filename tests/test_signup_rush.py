"""The sign-up POST when many members sign up at once: what it asks the database, how much of
it runs under the session's lock, and that its email is sent without a wait for the disk."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from studygroup.coworking.models import Tie
from studygroup.extensions import db
from studygroup.groups.models import MemberRole
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.sessions.models import RoleSlot
from studygroup.signups.models import Assignment, AssignmentStatus

# The login statement, the slot (with its session and role), the two locks, the member's
# places in the session, the slot's count, three INSERTs (place, staffing log, email: written
# claimed for the sender that runs after the commit), the ties' one look; after the commit the
# email's "sent" after a SET. SQLite has no SET, and its locks are an UPDATE and a SELECT
# each: one more.
SIGN_UP_STATEMENTS = {"postgresql": 12, "sqlite": 13}


def _first_slot(make, group, *, headcount: int) -> RoleSlot:
    session = make.session(group, day=date.today() + timedelta(days=10))
    slot = db.session.scalar(
        sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.position)
    )
    slot.headcount = headcount
    db.session.commit()
    return slot


def _sign_up_statements(client, auth, count_queries, group, slot, member) -> list[str]:
    path = f"/g/{group.slug}/slots/{slot.id}/signup"  # read before counting
    auth.login_as(member)
    with count_queries() as queries:
        response = client.post(path)
    assert response.status_code == 302
    return queries.statements


def test_a_sign_up_costs_the_same_few_statements_however_many_signed_up(
    client, auth, make, count_queries
):
    group = make.group()
    slot = _first_slot(make, group, headcount=3)
    members = [make.member(group) for _ in range(12)]
    first = _sign_up_statements(client, auth, count_queries, group, slot, members[0])
    for member in members[1:-1]:  # the role fills up, then a long waitlist
        auth.login_as(member)
        client.post(f"/g/{group.slug}/slots/{slot.id}/signup")
    last = _sign_up_statements(client, auth, count_queries, group, slot, members[-1])
    assert len(first) == len(last) <= SIGN_UP_STATEMENTS[db.engine.dialect.name], "\n".join(last)
    statuses = db.session.scalars(
        sa.select(Assignment.status).where(Assignment.slot_id == slot.id)
    ).all()
    assert statuses.count(AssignmentStatus.CONFIRMED) == 3
    assert statuses.count(AssignmentStatus.WAITLISTED) == 9


def test_a_sign_up_for_a_coming_session_leaves_the_ties_alone(client, auth, make, count_queries):
    group = make.group()
    slot = _first_slot(make, group, headcount=5)
    for member in [make.member(group) for _ in range(2)]:
        statements = _sign_up_statements(client, auth, count_queries, group, slot, member)
        assert not [s for s in statements if "tie" in s.split("WHERE")[0] and "SELECT" not in s]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tie)) == 0


def test_the_sign_up_email_is_sent_with_the_request(client, auth, make):
    group = make.group()
    slot = _first_slot(make, group, headcount=1)
    member = make.member(group)
    auth.login_as(member)
    page = client.post(f"/g/{group.slug}/slots/{slot.id}/signup", follow_redirects=True)
    assert "You are signed up as" in page.get_data(as_text=True)
    sent = db.session.execute(
        sa.select(OutboundEmail.status, OutboundEmail.attempts, OutboundEmail.lease_owner).where(
            OutboundEmail.user_id == member.id
        )
    ).all()
    assert sent == [(EmailStatus.SENT, 1, None)]


def test_only_the_outbox_commits_without_waiting_for_the_disk(client, auth, make):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("asynchronous commit is PostgreSQL's")
    group = make.group()
    slot = _first_slot(make, group, headcount=1)
    auth.login_as(make.member(group))
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(("UPDATE outbound_email", "INSERT INTO")):
            setting = cursor.connection.execute("SHOW synchronous_commit").fetchone()[0]
            table = statement.split()[1 if statement.startswith("UPDATE") else 2]
            if table in ("assignment", "outbound_email"):
                seen.append((table, setting))

    sa.event.listen(db.engine, "after_cursor_execute", note)
    try:
        client.post(f"/g/{group.slug}/slots/{slot.id}/signup")
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", note)
    # The place and the email (written claimed), one transaction, wait for the disk (the
    # member is told the place is theirs); the outbox's "sent" does not, and the setting ends
    # with it.
    assert seen == [("assignment", "on"), ("outbound_email", "on"), ("outbound_email", "off")]
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


def test_a_claimed_email_whose_sender_never_ran_goes_with_the_next_run(app, make):
    from datetime import UTC, datetime

    from studygroup.mail.delivery import claim_queued, deliver
    from studygroup.signups.services import sign_up

    group = make.group()
    slot = _first_slot(make, group, headcount=1)
    member = make.member(group)
    now = datetime.now(UTC)
    sign_up(db.session, member=member, slot=slot, now=now)
    claim_queued(db.session, now=now)
    db.session.commit()  # and the request dies before its sender runs
    db.session.info.pop("queued_emails")
    db.session.info.pop("claimed_emails")
    assert deliver(db.session, now=now).sent == 0  # its lease holds
    later = now + timedelta(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert deliver(db.session, now=later).sent == 1
    status = db.session.scalar(
        sa.select(OutboundEmail.status).where(OutboundEmail.user_id == member.id)
    )
    assert status == EmailStatus.SENT


def test_the_sign_up_email_is_written_claimed_and_sent_with_one_update(
    client, auth, make, count_queries, smtp_server
):
    group = make.group()
    slot = _first_slot(make, group, headcount=1)
    member = make.member(group)
    statements = _sign_up_statements(client, auth, count_queries, group, slot, member)
    outbox = [s.split()[0] for s in statements if "outbound_email" in s.split("WHERE")[0]]
    # The INSERT is the claim (no UPDATE claims it before the commit); the UPDATE is "sent".
    assert outbox == ["INSERT", "UPDATE"], "\n".join(statements)
    assert len(smtp_server.to(member.email)) == 1
    sent = db.session.execute(
        sa.select(OutboundEmail.status, OutboundEmail.attempts, OutboundEmail.lease_owner)
    ).all()
    assert sent == [(EmailStatus.SENT, 1, None)]


def test_an_email_written_claimed_then_rolled_back_is_never_sent(app, make, smtp_server):
    from datetime import UTC, datetime

    from studygroup.mail.delivery import claim_on_insert, claim_queued, send_queued
    from studygroup.signups.services import sign_up

    group = make.group()
    slot = _first_slot(make, group, headcount=1)
    gone, member = make.member(group), make.member(group)
    now = datetime.now(UTC)
    claim_on_insert(db.session, now=now)
    sign_up(db.session, member=gone, slot=slot, now=now)
    db.session.rollback()  # the change failed: its email was never written
    sign_up(db.session, member=member, slot=slot, now=now)  # claimed the usual way
    claim_queued(db.session, now=now)
    db.session.commit()
    assert send_queued(db.session, now=now).sent == 1
    assert [m.envelope_to for m in smtp_server.messages] == [[member.email]]


def test_an_email_written_claimed_whose_sender_never_ran_goes_with_the_next_run(app, make):
    from datetime import UTC, datetime

    from studygroup.mail.delivery import claim_on_insert, claim_queued, deliver
    from studygroup.signups.services import sign_up

    group = make.group()
    slot = _first_slot(make, group, headcount=1)
    member = make.member(group)
    now = datetime.now(UTC)
    claim_on_insert(db.session, now=now)
    sign_up(db.session, member=member, slot=slot, now=now)
    claim_queued(db.session, now=now)
    db.session.commit()  # and the request dies before its sender runs
    db.session.info.pop("queued_emails")
    db.session.info.pop("claimed_emails")
    assert deliver(db.session, now=now).sent == 0  # its lease holds
    later = now + timedelta(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert deliver(db.session, now=later).sent == 1
    status = db.session.scalar(
        sa.select(OutboundEmail.status).where(OutboundEmail.user_id == member.id)
    )
    assert status == EmailStatus.SENT


def test_the_page_after_a_sign_up_reads_no_more_for_a_member_shown_without_name(
    client, auth, make, count_queries
):
    """Whether the viewer may see a hidden name comes with their membership (loaded with the
    login): the page after the sign-up is the login, the session and its facts."""
    group = make.group()
    organizer = make.member(group, role=MemberRole.ORGANIZER)
    slot = _first_slot(make, group, headcount=2)
    hidden = make.member(group, make.user(display_name="Hidden Person"))
    hidden.appear_by_name = False
    db.session.commit()
    page = f"/g/{group.slug}/sessions/{slot.session_id}"
    auth.login_as(hidden)
    client.post(f"/g/{group.slug}/slots/{slot.id}/signup")
    for viewer, shows_name in ((make.member(group), False), (organizer, True)):
        auth.login_as(viewer)
        client.post(f"/g/{group.slug}/slots/{slot.id}/signup", follow_redirects=False)
        with count_queries() as queries:
            shown = client.get(page).get_data(as_text=True)
        assert queries.count == 3, "\n".join(queries.statements)
        assert ("Hidden Person" in shown) is shows_name
        assert ("a member" in shown) is not shows_name
