"""`flask send-team-suggestions`: run by cron (e.g. hourly). For each session coming up
within its group's `team_days_before` days whose formed roles have open places and whose
team is not accepted, every organizer gets the suggested team by email, once per session
(the outbox's unique key `team-suggestion:<session>:<organizer>` is the claim)."""

from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app, render_template
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group
from studygroup.groups.services import organizers_of
from studygroup.i18n import format_datetime, locale_of, role_label
from studygroup.mail.delivery import deliver
from studygroup.mail.kinds import MESSAGES
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.mail.services import claim_in_chunks, wants_email
from studygroup.sessions.models import SessionStatus, StudySession
from studygroup.sessions.services import get_session
from studygroup.signups.forming import Team, has_formed_roles, suggested_team
from studygroup.signups.team_words import reasons_text
from studygroup.urls import external_url


def suggestion_key(session: StudySession, organizer: User) -> str:
    return f"team-suggestion:{session.id}:{organizer.id}"


def sessions_due(db_session: Session, *, now: datetime) -> list[StudySession]:
    """Scheduled sessions to come, within their group's `team_days_before` days, whose team
    is not accepted, with formed roles that have open places (slots loaded)."""
    longest = db_session.scalar(sa.select(sa.func.max(Group.team_days_before))) or 0
    candidates = db_session.scalars(
        sa.select(StudySession)
        .join(Group, Group.id == StudySession.group_id)
        .where(
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.team_accepted_at.is_(None),
            StudySession.starts_at > now,
            StudySession.starts_at <= now + timedelta(days=longest),
        )
        .order_by(StudySession.starts_at, StudySession.id)
    ).all()
    due = []
    for session in candidates:
        if session.starts_at > now + timedelta(days=session.group.team_days_before):
            continue
        session = get_session(db_session, session.group, session.id)
        if has_formed_roles(session):
            due.append(session)
    return due


def compose_suggestion(organizer: User, team: Team, *, now: datetime) -> OutboundEmail:
    """The suggested team for `organizer`, in their language (not yet in the outbox)."""
    session = team.context.session
    group = session.group
    subject_text, intro, _setting = MESSAGES["team_suggestion"]
    users = team.context.users
    with force_locale(locale_of(organizer)):
        values = {"session": session.title}
        roles = []
        for slot in team.context.formed:
            role = role_label(slot.role_type)
            picks = [
                (users[p.user_id].display_name, reasons_text(p.reasons, role=role, users=users))
                for p in team.picks_for(slot.id)
            ]
            roles.append(
                {
                    "role": role,
                    "picks": picks,
                    "holders": [
                        p.user.display_name for p in team.context.staffing[slot.id].confirmed
                    ],
                    "unfilled": team.suggestion.unfilled.get(slot.id, 0),
                }
            )
        subject = " ".join((str(subject_text) % values).split())
        body = render_template(
            "mail/team_suggestion.txt",
            user=organizer,
            intro=str(intro) % values,
            group=group,
            session=session,
            when=format_datetime(session.starts_at, group.timezone),
            roles=roles,
            page_url=external_url("signups.session_team", slug=group.slug, session_id=session.id),
            settings_url=external_url("auth.profile"),
        )
    return OutboundEmail(
        user_id=organizer.id,
        to_address=organizer.email,
        subject=subject[:300],
        body=body,
        kind="team_suggestion",
        dedupe_key=suggestion_key(session, organizer),
        status=EmailStatus.PENDING,
        created_at=now,
    )


def claim_team_suggestions(db_session: Session, *, now: datetime) -> int:
    """Write the suggested team of every session due (`sessions_due`) to each of its
    organizers who lets such email reach them, once per organizer and session: a rerun, or
    two runs at once, write nothing more. Returns how many messages it wrote."""
    messages = []
    for session in sessions_due(db_session, now=now):
        organizers = [
            o for o in organizers_of(db_session, session.group) if wants_email(o, "team_suggestion")
        ]
        keys = [suggestion_key(session, o) for o in organizers]
        written = set(
            db_session.scalars(
                sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.in_(keys))
            )
        )
        waiting = [o for o in organizers if suggestion_key(session, o) not in written]
        if not waiting:
            continue
        team = suggested_team(db_session, session, now=now)
        if not team.suggestion.picks and not team.suggestion.unfilled:
            continue  # every formed place is taken: nothing to suggest
        messages += [compose_suggestion(o, team, now=now) for o in waiting]
    return claim_in_chunks(db_session, messages)


@click.command("send-team-suggestions")
@with_appcontext
def send_team_suggestions_command() -> None:
    """Email organizers the suggested team of each session due (once per organizer and
    session), then send. Safe to run as often as you like."""

    claimed = claim_team_suggestions(db.session, now=utcnow())
    report = deliver(db.session, now=utcnow(), budget=current_app.config["MAIL_RUN_BUDGET_SECONDS"])
    click.echo(
        f"team suggestions queued: {claimed}; "
        f"sent {report.sent}, left {report.left}, failed {report.failed}"
    )
