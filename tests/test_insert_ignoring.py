"""One insert-or-ignore (`db.insert_ignoring`) for every row two processes may both write: the
outbox's de-duplicated messages (reminders, "passed over" emails) and the login counters."""

from datetime import UTC, datetime

import sqlalchemy as sa

from studygroup.auth.models import LoginThrottle
from studygroup.db import insert_ignoring
from studygroup.extensions import db
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.mail.services import queue_email
from studygroup.sessions.models import RoleSlot
from studygroup.signups.services import sign_up


def _message(key: str) -> dict:
    return {
        "to_address": f"{key}@example.com",
        "subject": key,
        "body": "Hello",
        "kind": "reminder",
        "dedupe_key": key,
        "status": EmailStatus.PENDING,
        "created_at": datetime.now(UTC),
    }


def test_rows_whose_key_is_taken_are_left_out_and_the_written_ones_are_named(app):
    by_key = {"index_elements": [OutboundEmail.dedupe_key], "returning": OutboundEmail.id}
    first = insert_ignoring(db.session, OutboundEmail, [_message("a"), _message("b")], **by_key)
    again = insert_ignoring(db.session, OutboundEmail, [_message("b"), _message("c")], **by_key)
    db.session.commit()
    assert len(first) == 2 and len(again) == 1
    keys = dict(db.session.execute(sa.select(OutboundEmail.id, OutboundEmail.dedupe_key)).all())
    assert sorted(keys.values()) == ["a", "b", "c"]
    assert keys[again[0]] == "c"
    # One row, by its primary key, with nothing to return.
    assert insert_ignoring(db.session, LoginThrottle, {"key": "account:x", "attempts": 0}) is None
    insert_ignoring(db.session, LoginThrottle, {"key": "account:x", "attempts": 5})
    assert db.session.scalars(sa.select(LoginThrottle.attempts)).all() == [0]


def test_a_message_with_a_key_is_queued_once_and_sent_once(app, make):
    group = make.group()
    session = make.session(group)
    member = make.member(group, make.user(locale="en"))
    slot = db.session.scalar(sa.select(RoleSlot).where(RoleSlot.session_id == session.id))
    place = sign_up(db.session, member=member, slot=slot, now=datetime.now(UTC))
    db.session.commit()
    db.session.info.pop("queued_emails", None)
    what = {"user": member, "kind": "reminder", "place": place, "now": datetime.now(UTC)}
    first = queue_email(db.session, **what, dedupe_key="reminder:once")
    # The same message again (another request or run got there first): no error, no row.
    second = queue_email(db.session, **what, dedupe_key="reminder:once")
    db.session.commit()
    assert first is not None and second is None
    assert db.session.info["queued_emails"] == [first.id]  # sent after the commit, once
    reminders = sa.select(OutboundEmail.id).where(OutboundEmail.kind == "reminder")
    assert db.session.scalars(reminders).all() == [first.id]
