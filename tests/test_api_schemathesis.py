"""schemathesis against the live API: every operation of /api/v1/openapi.json, as each kind
of caller, on a real HTTP server and a migrated database. 0 failures: no 5xx, every status
documented, every body of the documented type and shape.

Derandomized with a bounded number of examples per operation, so it runs the same in CI on
both engines. Generated path parameters are swapped, half of the time, for the group's real
slugs and session ids: without that nearly every call would be a 404.
"""

from datetime import date, timedelta

import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from studygroup.apitokens.models import Scope
from studygroup.apitokens.services import create_token
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Visibility
from studygroup.sessions.models import RoleSlot
from studygroup.signups.services import sign_up
from tests.live_server import LiveServer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def world(make):
    organizer = make.user("org@example.com", display_name="Org")
    public = make.group(organizer, slug="public-py")
    member = make.member(public, make.user("mem@example.com", display_name="Mem"))
    private = make.group(organizer, slug="secret-py", visibility=Visibility.MEMBERS)
    make.member(private, member)
    outsider = make.user("out@example.com")
    sessions = [
        make.session(public, day=date.today() + timedelta(days=d), title=f"S{d}") for d in (5, 12)
    ]
    hidden = make.session(private, title="Hidden")
    slots = {
        s.id: db.session.scalars(sa.select(RoleSlot.id).where(RoleSlot.session_id == s.id)).all()
        for s in [*sessions, hidden]
    }
    place = sign_up(
        db.session, member=member, slot=db.session.get(RoleSlot, slots[hidden.id][0]), now=utcnow()
    )
    db.session.commit()
    # Path parameters that exist together: a group, one of its sessions, a role in it, a place.
    targets = [
        {"slug": slug, "session_id": s.id, "slot_id": slot_id, "place_id": place.id}
        for slug, s in [
            ("public-py", sessions[0]),
            ("public-py", sessions[1]),
            ("secret-py", hidden),
        ]
        for slot_id in slots[s.id][:2]
    ]
    return {
        "organizer": organizer,
        "member": member,
        "outsider": outsider,
        "targets": targets,
    }


def _real_values(world):
    """Draws that put real path parameters in place of the generated ones (or leave them)."""
    return st.sampled_from([{}, *world["targets"]])


def _examples_of(operation, base_url: str, world, headers, seen):
    """A hypothesis test calling `operation` with generated cases, checked."""

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=operation.as_strategy(), real=_real_values(world))
    def call(case, real):
        for name, value in real.items():
            if name in (case.path_parameters or {}):
                case.path_parameters[name] = value
        response = case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
        seen.setdefault(operation.label, set()).add(response.status_code)

    return call


def run_every_operation(
    base_url: str, world, headers: dict[str, str], seen: dict[str, set[int]] | None = None
) -> list[str]:
    """Each operation's failures (none: an empty list); `seen` collects the statuses each
    operation answered."""
    seen = {} if seen is None else seen
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    for operation in operations:
        call = _examples_of(operation, base_url, world, headers, seen)
        try:
            call()
        except Exception as error:  # noqa: BLE001 (collect every operation's failure)
            failures.append(f"{operation.label}: {error}")
    return failures


def token(user, *scopes: str) -> dict[str, str]:
    _token, raw = create_token(
        db.session,
        user,
        name="schemathesis",
        scopes={Scope(s) for s in scopes},
        expires_at=None,
        now=utcnow(),
    )
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize(
    "who, scopes",
    [
        ("member", ("read", "write")),
        ("organizer", ("read", "write", "organize")),
        ("outsider", ("read", "write")),
    ],
)
def test_every_operation_with_a_token(app, world, who, scopes):
    headers = token(world[who], *scopes)
    seen: dict[str, set[int]] = {}
    with LiveServer(app) as server:
        failures = run_every_operation(server.url, world, headers=headers, seen=seen)
    assert not failures, "\n\n".join(failures)
    assert 200 in seen["GET /api/v1/me/schedule"], seen
    if who == "member":  # real writes went through, not only refusals
        assert 201 in seen["POST /api/v1/groups/{slug}/slots/{slot_id}/signup"], seen
        assert 200 in seen["POST /api/v1/groups/{slug}/places/{place_id}/cancel"], seen


def test_every_operation_anonymous(app, world):
    seen: dict[str, set[int]] = {}
    with LiveServer(app) as server:
        failures = run_every_operation(server.url, world, headers={}, seen=seen)
    assert not failures, "\n\n".join(failures)
    # Real data was read, not only 404s and 422s.
    assert 200 in seen["GET /api/v1/groups/{slug}/sessions"], seen
    assert 200 in seen["GET /api/v1/groups/{slug}/sessions/{session_id}"], seen
