"""The tests' data: studygroup.testing.factories (`make` in conftest, shared with the benches)
and what only tests read back, such as a session's role slots."""

import sqlalchemy as sa
from sqlalchemy.orm import object_session

from studygroup.sessions.models import RoleSlot
from studygroup.testing.factories import CHEAP, PASSWORD, Factories

__all__ = ["CHEAP", "PASSWORD", "Factories", "slots_of"]


def slots_of(study_session) -> dict[str, RoleSlot]:
    """A session's role slots by role key ("setup", "reception", "speaker"; a custom role by
    its name), in the session page's order. Read from the database, so it sees what requests
    committed since the session was loaded."""
    found = object_session(study_session).scalars(
        sa.select(RoleSlot)
        .where(RoleSlot.session_id == study_session.id)
        .order_by(RoleSlot.position, RoleSlot.id)
    )
    return {slot.role_type.key or slot.role_type.name: slot for slot in found}
