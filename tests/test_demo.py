import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.sessions.models import StudySession


def test_demo_fills_an_empty_database_once(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "organizer@example.com" in result.output
    assert "studygroup-demo-2026" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 12
    sessions = db.session.scalar(sa.select(sa.func.count()).select_from(StudySession))
    assert sessions >= 12
    again = runner.invoke(args=["demo"])
    assert "already has users" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 12
    # The printed login works.
    response = client.post(
        "/login", data={"email": "organizer@example.com", "password": "studygroup-demo-2026"}
    )
    assert response.status_code == 302
    assert "渋谷Python勉強会" in client.get("/organize").get_data(as_text=True)


def test_demo_prints_calendar_urls_that_open(runner, client):
    import re

    result = runner.invoke(args=["demo"])
    urls = re.findall(r"http://127\.0\.0\.1:5000(/\S+\.ics\S*)", result.output)
    assert len(urls) == 2, result.output
    group_path, member_path = urls
    assert group_path.startswith("/g/shibuya-py/calendar.ics")
    assert member_path.startswith("/calendar/member/")
    for path in (group_path, member_path):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.data.count(b"BEGIN:VEVENT") >= 6
