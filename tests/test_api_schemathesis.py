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
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from studygroup.groups.models import Visibility
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
    return {
        "organizer": organizer,
        "member": member,
        "outsider": outsider,
        # (slug, session id) pairs that exist
        "targets": [("public-py", s.id) for s in sessions] + [("secret-py", hidden.id)],
    }


def _real_values(world):
    """Draws that put a real slug and its session's id in place of the generated ones (or
    leave them)."""
    return st.sampled_from([(None, None), *world["targets"]])


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
        slug, session_id = real
        if slug is not None and "slug" in (case.path_parameters or {}):
            case.path_parameters["slug"] = slug
        if session_id is not None and "session_id" in (case.path_parameters or {}):
            case.path_parameters["session_id"] = session_id
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


def test_every_operation_anonymous(app, world):
    seen: dict[str, set[int]] = {}
    with LiveServer(app) as server:
        failures = run_every_operation(server.url, world, headers={}, seen=seen)
    assert not failures, "\n\n".join(failures)
    # Real data was read, not only 404s and 422s.
    assert 200 in seen["GET /api/v1/groups/{slug}/sessions"], seen
    assert 200 in seen["GET /api/v1/groups/{slug}/sessions/{session_id}"], seen
