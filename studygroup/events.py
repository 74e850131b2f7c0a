"""What happened, said by the services that made it happen (blinker signals).

The services that change sessions and places send these inside the change's transaction;
features above them (webhooks) listen and write their own rows in that same transaction, so
the lower layers never import the features that react to them. Every signal is sent with the
object it is about and `now=`; the database session is the object's own
(`sqlalchemy.orm.object_session`).
"""

from blinker import Namespace

_signals = Namespace()

# One session posted on its own (a series says `series_posted` once, not once per session).
session_posted = _signals.signal("session-posted")
# A series posted: sender the SessionSeries, `sessions=` the sessions it made.
series_posted = _signals.signal("series-posted")
# A session's start or end moved: sender the session, `previous_starts_at=` and
# `previous_ends_at=` (its times before the move).
session_moved = _signals.signal("session-moved")
session_cancelled = _signals.signal("session-cancelled")
# A confirmed place given up and left open (nobody from the waitlist or the team took it):
# sender the place (Assignment).
place_freed = _signals.signal("place-freed")
