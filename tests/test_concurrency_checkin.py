"""Twenty receptionists (or retries) check one participant in at the same moment: one check-in.
Real threads, each with its own database connection, on SQLite and PostgreSQL."""

import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.checkin.services import check_in, check_in_staff
from studygroup.extensions import db
from studygroup.participants.models import Participant
from studygroup.sessions.models import StudySession
from studygroup.signups.models import Assignment, Attendance, StaffingChange
from tests.test_checkin import TOKYO, Day
from tests.test_concurrency import THREADS, _racing_app


def _race(app, attempt_one) -> list[str]:
    barrier = threading.Barrier(THREADS, timeout=30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt():
        with app.app_context():
            try:
                prepared = attempt_one.prepare()
                barrier.wait()
                result = attempt_one.run(prepared)
                db.session.commit()
                outcome = result.outcome.value
            except Exception as error:  # noqa: BLE001 - the test reports any failure
                db.session.rollback()
                outcome = f"error: {type(error).__name__}: {error}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == THREADS, "a thread did not finish"
    return outcomes


class ParticipantCheckIn:
    def __init__(self, session_id, participant_id, receptionist_ids):
        self.session_id, self.participant_id = session_id, participant_id
        self.receptionists = iter(receptionist_ids * THREADS)
        self.lock = threading.Lock()

    def prepare(self):
        with self.lock:
            by_id = next(self.receptionists)
        session = db.session.get(StudySession, self.session_id)
        return session, db.session.get(User, by_id)

    def run(self, prepared):
        session, by = prepared
        return check_in(
            db.session,
            session=session,
            participant_id=self.participant_id,
            by=by,
            now=datetime.now(UTC),
        )


def test_twenty_simultaneous_check_ins_of_one_participant_give_one(app_factory, make):
    app = _racing_app(app_factory)
    day = Day(make, day=datetime.now(TOKYO).date())
    participant = day.participant(name="Yui Tanaka")
    attempt = ParticipantCheckIn(
        day.session.id, participant.id, [day.receptionist.id, day.organizer.id]
    )
    outcomes = _race(app, attempt)
    assert sorted(outcomes) == ["already"] * (THREADS - 1) + ["now"], outcomes
    row = db.session.get(Participant, participant.id)
    db.session.refresh(row)
    assert row.checked_in_at is not None and row.checked_in_by_id in (
        day.receptionist.id,
        day.organizer.id,
    )


class StaffCheckIn:
    def __init__(self, place_id, by_id):
        self.place_id, self.by_id = place_id, by_id

    def prepare(self):
        return db.session.get(Assignment, self.place_id), db.session.get(User, self.by_id)

    def run(self, prepared):
        place, by = prepared
        return check_in_staff(db.session, place=place, by=by, now=datetime.now(UTC))


def test_twenty_simultaneous_staff_check_ins_give_one_and_one_log_line(app_factory, make):
    app = _racing_app(app_factory)
    day = Day(make, day=datetime.now(TOKYO).date())
    outcomes = _race(app, StaffCheckIn(day.setup_place.id, day.receptionist.id))
    assert sorted(outcomes) == ["already"] * (THREADS - 1) + ["now"], outcomes
    place = db.session.get(Assignment, day.setup_place.id)
    db.session.refresh(place)
    assert place.attendance == Attendance.WORKED and place.checked_in_at is not None
    logged = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StaffingChange)
        .where(StaffingChange.assignment_id == place.id)
    )
    assert logged == 1
