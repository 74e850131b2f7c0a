#!/usr/bin/env python
"""Benchmark: the co-workers page (`/people/<id>/coworkers`) on a city-sized history.

Run by hand from the repository root; it prints figures and changes nothing in the project:

    .venv/bin/python -m bench.coworkers --scale 0.05               # seconds, SQLite
    .venv/bin/python -m bench.coworkers --scale 1 --db sqlite
    .venv/bin/python -m bench.coworkers --db postgres --compare 1,10 --explain

At scale 1 the data is 50 groups, 20,000 members, 10 years of monthly sessions per group
(6,000 sessions with setup, reception and speaker slots) and about 50,000 places (confirmed,
attendance worked or unknown), plus one heavy member with about 240 places across six groups.
Scale multiplies the groups and the members; each group keeps its size and its 120 sessions,
and the heavy member keeps the same history, so a page that is proportional to the member's
own history should cost the same at 10x.

Every run builds its own database (a temporary SQLite file, or a PostgreSQL database of its
own created on the server of --url and dropped at the end), migrates it with
`flask_migrate.upgrade()`, loads it with bulk executemany inserts, ANALYZEs it, then, logged
in as the heavy member:

* counts the SQL statements one GET of the page sends (`before_cursor_execute`);
* times the page through `app.test_client()` (in-process, no network) and `coworkers_of`
  alone, after a warm-up; median and p95 (nearest rank);
* with --explain, prints the plans of the service's queries (EXPLAIN ANALYZE on PostgreSQL,
  EXPLAIN QUERY PLAN on SQLite) and the indexes they use.
"""

import argparse
import gc
import logging
import math
import os
import random
import re
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade

from studygroup.auth.models import CoworkersVisibility, User
from studygroup.coworking.services import coworkers_of
from studygroup.coworking.ties import rebuild_ties
from studygroup.extensions import db
from studygroup.groups.models import (
    Anchor,
    Group,
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    RoleType,
    Visibility,
)
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance
from studygroup.testing import make_test_app, scratch_database

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DUMMY_HASH = "$argon2id$v=19$m=8,t=1,p=1$YmVuY2g$ZHVtbXlkdW1teWR1bW15ZHVtbXk"

# Targets from the issue.
MAX_QUERIES = 4
MAX_SCALE_RATIO = 1.3
MAX_PG_P95_MS = 25.0
PLAN_LINES = 60  # of each plan, with --explain

MONTHS = 120  # 10 years of monthly sessions per group
HEAVY_PLACES = 240
HEAVY_GROUPS = 6
# (key, position, start offset from the session's start, end offset; "end" = from its end)
ROLES = (
    ("setup", 0, (Anchor.START, -60), (Anchor.START, 0)),
    ("reception", 1, (Anchor.START, -30), (Anchor.START, 30)),
    ("speaker", 2, (Anchor.START, 0), (Anchor.END, 0)),
)
# Places filled per slot: setup 3-5, reception 2-4, speaker 1 (2 in 30%): ~8.3 a session.
HEADCOUNT = {"setup": (3, 5), "reception": (2, 4), "speaker": (1, 2)}


# --- data -----------------------------------------------------------------------------------


@dataclass
class Dataset:
    groups: int = 0
    members: int = 0
    memberships: int = 0
    sessions: int = 0
    sessions_counted: int = 0  # scheduled and already started
    slots: int = 0
    places: int = 0
    heavy_id: int = 1
    heavy_places: int = 0
    heavy_sessions: int = 0
    heavy_groups: int = 0
    hidden_members: int = 0
    load_seconds: float = 0.0
    tie_seconds: float = 0.0
    tie_rows: int = 0
    tie_role_rows: int = 0
    analyze_seconds: float = 0.0
    per_table: dict[str, int] = field(default_factory=dict)


class Loader:
    """Chunked bulk inserts, flushed in foreign-key order so each chunk's parents exist."""

    ORDER = (User, Group, RoleType, Membership, StudySession, RoleSlot, Assignment)

    def __init__(self, session, chunk: int):
        self.session = session
        self.chunk = chunk
        self.buffers: dict[type, list[dict]] = {model: [] for model in self.ORDER}
        self.counts: dict[str, int] = {model.__tablename__: 0 for model in self.ORDER}

    def add(self, model, row: dict) -> None:
        buffer = self.buffers[model]
        buffer.append(row)
        if len(buffer) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        for model in self.ORDER:
            rows = self.buffers[model]
            if rows:
                self.session.execute(sa.insert(model), rows)
                self.counts[model.__tablename__] += len(rows)
                self.buffers[model] = []


def _month_start(now: datetime, months_back: int) -> datetime:
    index = now.year * 12 + (now.month - 1) - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _weighted_pool(rng: random.Random, member_ids: list[int]):
    """A group's members with cumulative weights: a few regulars do most of the work."""
    pool = member_ids[:]
    rng.shuffle(pool)
    regulars, occasional = max(1, len(pool) * 8 // 100), len(pool) * 30 // 100
    weights = [12] * regulars + [2] * occasional + [1] * (len(pool) - regulars - occasional)
    cumulative, total = [], 0
    for w in weights:
        total += w
        cumulative.append(total)
    return pool, cumulative


def generate(session, scale: float, seed: int, hidden_share: float, chunk: int) -> Dataset:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    created = now - timedelta(days=11 * 366)
    data = Dataset()
    data.groups = n_groups = max(2, round(50 * scale))
    data.members = n_members = max(200, round(20_000 * scale))
    loader = Loader(session, chunk)
    started = time.perf_counter()

    # Members. Member 1 is the heavy one; a few choose not to appear by name on others' pages.
    for user_id in range(1, n_members + 1):
        heavy = user_id == data.heavy_id
        appear = heavy or rng.random() >= hidden_share
        data.hidden_members += not appear
        loader.add(
            User,
            {
                "id": user_id,
                "email": f"member{user_id}@bench.example",
                "password_hash": DUMMY_HASH,
                "display_name": "Heavy Member" if heavy else f"Member {user_id}",
                "bio": "",
                "locale": "en",
                "timezone": "Asia/Tokyo",
                "session_token": f"bench-session-{user_id}-{rng.getrandbits(64):016x}",
                "created_at": created,
                "coworkers_visibility": CoworkersVisibility.SHARED_GROUPS,
                "appear_by_name": appear,
                "coworkers_link_token": f"bench-link-{user_id}-{rng.getrandbits(64):016x}",
            },
        )

    # Groups, each with the three built-in roles.
    role_type_ids: dict[int, dict[str, int]] = {}
    next_role_type = 1
    for group_id in range(1, n_groups + 1):
        loader.add(
            Group,
            {
                "id": group_id,
                "name": f"Study group {group_id:04d}",
                "slug": f"group-{group_id}",
                "description": "",
                "timezone": "Asia/Tokyo",
                "default_venue": "",
                "join_policy": JoinPolicy.OPEN,
                "visibility": Visibility.PUBLIC,
                "invite_token": f"bench-invite-{group_id}",
                "created_at": created,
                "updated_at": created,
            },
        )
        role_type_ids[group_id] = {}
        for key, position, (start_anchor, start_off), (end_anchor, end_off) in ROLES:
            role_type_ids[group_id][key] = next_role_type
            loader.add(
                RoleType,
                {
                    "id": next_role_type,
                    "group_id": group_id,
                    "key": key,
                    "name": "",
                    "description": "",
                    "default_headcount": HEADCOUNT[key][0],
                    "start_anchor": start_anchor,
                    "start_offset_minutes": start_off,
                    "end_anchor": end_anchor,
                    "end_offset_minutes": end_off,
                    "requires_approval": key == "speaker",
                    "position": position,
                    "created_at": created,
                },
            )
            next_role_type += 1

    # Memberships: each member is in 1-4 groups (mean 1.75); groups are of uneven size.
    group_weights = [rng.uniform(0.5, 1.5) for _ in range(n_groups)]
    group_members: dict[int, list[int]] = {g: [] for g in range(1, n_groups + 1)}
    for user_id in range(2, n_members + 1):
        k = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
        chosen = set(rng.choices(range(1, n_groups + 1), weights=group_weights, k=k))
        for group_id in chosen:
            group_members[group_id].append(user_id)
    heavy_group_ids = sorted(rng.sample(range(1, n_groups + 1), min(HEAVY_GROUPS, n_groups)))
    data.heavy_groups = len(heavy_group_ids)
    membership_id = 0
    for group_id, members in group_members.items():
        rows = [
            (user_id, MemberRole.ORGANIZER if i < 3 else MemberRole.MEMBER)
            for i, user_id in enumerate(members)
        ]
        if group_id in heavy_group_ids:
            role = MemberRole.ORGANIZER if group_id == heavy_group_ids[0] else MemberRole.MEMBER
            rows.append((data.heavy_id, role))
        for user_id, role in rows:
            membership_id += 1
            loader.add(
                Membership,
                {
                    "id": membership_id,
                    "user_id": user_id,
                    "group_id": group_id,
                    "role": role,
                    "status": MembershipStatus.ACTIVE,
                    "joined_at": created,
                    "left_at": None,
                    "created_at": created,
                },
            )
    data.memberships = membership_id

    # The heavy member's places: ~240 across their groups, one role a session (two in ~12%).
    total_sessions = n_groups * MONTHS
    heavy_target = min(HEAVY_PLACES, int(0.8 * len(heavy_group_ids) * MONTHS), total_sessions)
    heavy_plan: dict[tuple[int, int], list[str]] = {}
    quota = {g: heavy_target // len(heavy_group_ids) for g in heavy_group_ids}
    for g in heavy_group_ids[: heavy_target % len(heavy_group_ids)]:
        quota[g] += 1
    for group_id in heavy_group_ids:
        # Only sessions already started count; the heavy member works in the past.
        months = list(range(1, MONTHS))
        rng.shuffle(months)
        left = quota[group_id]
        for month in months:
            if left <= 0:
                break
            take = 2 if left >= 2 and rng.random() < 0.12 else 1
            heavy_plan[(group_id, month)] = rng.sample([key for key, *_ in ROLES], take)
            left -= take

    # Sessions, slots and places, group by group (memory stays small at 10x).
    session_id = slot_id = assignment_id = 0
    for group_id in range(1, n_groups + 1):
        pool, cumulative = _weighted_pool(rng, group_members[group_id])
        for month in range(MONTHS):
            months_back = MONTHS - 1 - month  # the newest month may still be in the future
            start = _month_start(now, months_back).replace(
                day=rng.randint(1, 28), hour=rng.choice((0, 1, 5, 9))
            )
            end = start + timedelta(hours=3)
            past = start <= now
            cancelled = rng.random() < 0.02
            confirmed = past and not cancelled and start < now - timedelta(days=45)
            confirmed = confirmed and rng.random() < 0.75
            session_id += 1
            data.sessions += 1
            data.sessions_counted += past and not cancelled
            loader.add(
                StudySession,
                {
                    "id": session_id,
                    "group_id": group_id,
                    "series_id": None,
                    "title": f"Monthly meetup #{month + 1}",
                    "starts_at": start,
                    "ends_at": end,
                    "venue": "",
                    "description": "",
                    "status": SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED,
                    "cancelled_at": start - timedelta(days=3) if cancelled else None,
                    "attendance_confirmed_at": end + timedelta(days=2) if confirmed else None,
                    "sequence": 1 if cancelled else 0,
                    "created_at": start - timedelta(days=60),
                    "updated_at": start - timedelta(days=60),
                },
            )
            heavy_roles = heavy_plan.get((group_id, months_back), [])
            taken: set[int] = set()
            for key, position, (sa_, so), (ea, eo) in ROLES:
                slot_id += 1
                low, high = HEADCOUNT[key]
                slot_start = (start if sa_ == Anchor.START else end) + timedelta(minutes=so)
                slot_end = (start if ea == Anchor.START else end) + timedelta(minutes=eo)
                loader.add(
                    RoleSlot,
                    {
                        "id": slot_id,
                        "session_id": session_id,
                        "role_type_id": role_type_ids[group_id][key],
                        "headcount": high,
                        "starts_at": slot_start,
                        "ends_at": slot_end,
                        "position": position,
                    },
                )
                if key == "speaker":
                    wanted = 2 if rng.random() < 0.3 else 1
                else:
                    wanted = rng.randint(low, high)
                people: list[int] = []
                if key in heavy_roles:
                    people.append(data.heavy_id)
                    data.heavy_places += 1
                while len(people) < wanted and len(taken) < len(pool):
                    user_id = rng.choices(pool, cum_weights=cumulative)[0]
                    if user_id not in taken:
                        taken.add(user_id)
                        people.append(user_id)
                attendance = Attendance.WORKED if confirmed else Attendance.UNKNOWN
                for user_id in people:
                    assignment_id += 1
                    loader.add(
                        Assignment,
                        {
                            "id": assignment_id,
                            "slot_id": slot_id,
                            "user_id": user_id,
                            "status": AssignmentStatus.CONFIRMED,
                            "waitlist_position": None,
                            "attendance": attendance,
                            "talk_title": "A talk" if key == "speaker" else "",
                            "talk_abstract": "",
                            "added_by_id": None,
                            "created_at": start - timedelta(days=20),
                            "updated_at": start - timedelta(days=20),
                            "confirmed_at": start - timedelta(days=20),
                            "cancelled_at": None,
                            "attendance_marked_at": end + timedelta(days=2) if confirmed else None,
                        },
                    )
            if heavy_roles:
                data.heavy_sessions += 1
    loader.flush()
    session.commit()
    data.load_seconds = time.perf_counter() - started
    data.slots, data.places = slot_id, assignment_id
    data.per_table = dict(loader.counts)
    return data


def finish_load(app, data: Dataset) -> None:
    """Sequences past the explicit ids (PostgreSQL), then planner statistics."""
    started = time.perf_counter()
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                for model in Loader.ORDER:
                    table = model.__tablename__
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                conn.commit()
            # VACUUM sets the visibility map (index-only scans), as autovacuum would in
            # production; ANALYZE gives the planner its statistics.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")
        else:
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
    data.analyze_seconds = time.perf_counter() - started


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    engine: str
    scale: float
    data: Dataset
    queries: int = 0
    statements: list[str] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    service_ms: list[float] = field(default_factory=list)
    service_queries: int = 0
    sql_ms: list[float] = field(default_factory=list)
    gc_pauses: list[float] = field(default_factory=list)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    coworkers: int = 0
    coworkers_unnamed: int = 0
    plans: list[tuple[str, list[str]]] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@contextmanager
def recording(engine, timings: list[float] | None = None):
    """Statements sent (and, given `timings`, milliseconds spent in each cursor execute)."""
    statements: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        if timings is not None:
            timings.append((time.perf_counter() - conn.info.pop("bench_started")) * 1000)

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


@contextmanager
def gc_pauses():
    """Milliseconds of each full (generation 2) collection of Python's cyclic GC."""
    pauses: list[float] = []
    started = [0.0]

    def callback(phase, info):
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(callback)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(callback)


def measure(app, result: Result, *, warmup: int, repeat: int, explain: bool) -> None:
    heavy_id = result.data.heavy_id
    with app.app_context():
        engine = db.engine
        token = db.session.get(User, heavy_id).session_token
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    url = f"/people/{heavy_id}/coworkers"

    def get():
        response = client.get(url)
        if response.status_code != 200 or b"Heavy Member" not in response.data:
            raise SystemExit(f"GET {url} answered {response.status_code}, not the page")
        return response

    for _ in range(warmup):
        get()
    with recording(engine) as statements:
        get()
    result.queries = len(statements)
    result.statements = [" ".join(s.split())[:110] for s, _ in statements]
    # Time spent executing SQL in a GET (cursor execute, not fetching or building objects).
    for _ in range(10):
        timings: list[float] = []
        with recording(engine, timings):
            get()
        result.sql_ms.append(sum(timings))

    result.load_average = os.getloadavg()
    gc.collect()
    gc.freeze()  # as gunicorn.conf.py's post_worker_init does in each worker
    with gc_pauses() as result.gc_pauses:
        for _ in range(repeat):
            started = time.perf_counter()
            get()
            result.page_ms.append((time.perf_counter() - started) * 1000)

    def service():
        with app.test_request_context(url):
            member = db.session.get(User, heavy_id)
            started = time.perf_counter()
            found = coworkers_of(db.session, member, viewer=member, now=datetime.now(UTC))
            elapsed = (time.perf_counter() - started) * 1000
            db.session.remove()
        return found, elapsed

    for _ in range(warmup):
        service()
    gc.collect()
    for _ in range(repeat):
        found, elapsed = service()
        result.service_ms.append(elapsed)
    result.coworkers = len(found)
    result.coworkers_unnamed = sum(1 for c in found if not c.visible)

    # The service's own statements, replayed under EXPLAIN with the same parameters.
    with app.test_request_context(url):
        member = db.session.get(User, heavy_id)
        with recording(engine) as service_statements:
            coworkers_of(db.session, member, viewer=member, now=datetime.now(UTC))
        db.session.remove()
    result.service_queries = len(service_statements)
    names = ("co-workers (ties and the sessions since the watermark)", "query 2", "query 3")
    with engine.connect() as conn:
        for i, (statement, parameters) in enumerate(service_statements):
            if engine.dialect.name == "postgresql":
                prefix = "EXPLAIN (ANALYZE, BUFFERS) "
            else:
                prefix = "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            if engine.dialect.name == "postgresql":
                lines = [row[0] for row in rows]
            else:
                lines = [f"{'  ' * _depth(rows, row)}{row[-1]}" for row in rows]
            label = names[i] if i < len(names) else f"query {i + 1}"
            result.plans.append((label, lines))
            if i == 0:
                result.indexes = _indexes(lines)
        conn.rollback()
    if not explain:
        result.plans = result.plans[:1]


def _depth(rows, row) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


def _indexes(lines: list[str]) -> list[str]:
    found: list[str] = []
    for line in lines:
        pattern = r"(?:Scan using|Index Scan on|USING (?:COVERING )?INDEX) (\w+)"
        for name in re.findall(pattern, line):
            if name not in found:
                found.append(name)
    return found


# --- one run --------------------------------------------------------------------------------


def run(args, scale: float) -> Result:
    with scratch_database(args.db, args.url, prefix="studygroup_bench") as database_url:
        app = make_test_app(database_url)
        try:
            with app.app_context():
                started = time.perf_counter()
                logging.disable(logging.INFO)  # Alembic's "Running upgrade" lines
                try:
                    upgrade()
                finally:
                    logging.disable(logging.NOTSET)
                migrate_seconds = time.perf_counter() - started
                data = generate(db.session, scale, args.seed, args.hidden, args.chunk)
                # The bulk load bypasses the services, so the tie tables are built as
                # `flask rebuild-ties` builds them.
                started = time.perf_counter()
                ties = rebuild_ties(db.session, now=datetime.now(UTC))
                db.session.commit()
                data.tie_seconds = time.perf_counter() - started
                data.tie_rows, data.tie_role_rows = ties.ties, ties.roles
                db.session.remove()
            finish_load(app, data)
            result = Result(args.db, scale, data)
            print_data(result, migrate_seconds)
            measure(app, result, warmup=args.warmup, repeat=args.repeat, explain=args.explain)
            print_result(result, explain=args.explain)
            return result
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


# --- printing -------------------------------------------------------------------------------


def _scale(value: float) -> str:
    return f"{value:g}x"


def verdict(ok: bool, detail: str) -> str:
    return f"{'MET' if ok else 'MISSED'} ({detail})"


def print_data(result: Result, migrate_seconds: float) -> None:
    d = result.data
    print()
    print(f"=== co-workers page, {result.engine}, scale {_scale(result.scale)} ===")
    print(
        f"data: {d.groups:,} groups, {d.members:,} members ({d.hidden_members:,} not by name), "
        f"{d.memberships:,} memberships, {d.sessions:,} sessions "
        f"({d.sessions_counted:,} scheduled and started), {d.slots:,} role slots, "
        f"{d.places:,} places"
    )
    print(
        f"load: migrate {migrate_seconds:.1f} s, insert {d.load_seconds:.1f} s, "
        f"rebuild-ties {d.tie_seconds:.1f} s ({d.tie_rows:,} tie rows, "
        f"{d.tie_role_rows:,} role rows), "
        f"{'VACUUM ANALYZE' if result.engine == 'postgres' else 'ANALYZE'} "
        f"{d.analyze_seconds:.1f} s"
    )
    print(
        f"heavy member #{d.heavy_id}: {d.heavy_places} places in {d.heavy_sessions} sessions "
        f"across {d.heavy_groups} groups"
    )
    sys.stdout.flush()


def print_result(result: Result, *, explain: bool) -> None:
    n = len(result.page_ms)
    print(
        f"co-workers found: {result.coworkers:,} ({result.coworkers_unnamed:,} shown as 'a member')"
    )
    rows = [
        (
            "SQL queries per page",
            f"{result.queries}",
            f"<= {MAX_QUERIES}",
            verdict(result.queries <= MAX_QUERIES, f"{result.queries - MAX_QUERIES:+d}"),
        ),
        (f"page median ({n} GETs)", f"{p50(result.page_ms):.1f} ms", "", ""),
        ("page p95", f"{p95(result.page_ms):.1f} ms", *_p95_target(result)),
        ("SQL execute time per page (median)*", f"{p50(result.sql_ms):.1f} ms", "", ""),
        (f"service median ({n} calls)", f"{p50(result.service_ms):.1f} ms", "", ""),
        ("service p95", f"{p95(result.service_ms):.1f} ms", "", ""),
        ("queries in coworkers_of", f"{result.service_queries}", "", ""),
    ]
    _table(("metric", "value", "target", "verdict"), rows)
    print(
        "* sum of cursor.execute() calls in a GET: the database's work, without fetching rows"
        " or building objects (SQLite runs part of a query while rows are fetched)"
    )
    print(
        "load average before timing: "
        + ", ".join(f"{x:.2f}" for x in result.load_average)
        + f" ({os.cpu_count()} CPUs; other work on the machine inflates p95)"
    )
    if result.gc_pauses:
        print(
            f"full GC (generation 2) during the {n} timed GETs: {len(result.gc_pauses)} "
            f"collections, {max(result.gc_pauses):.0f} ms the longest, "
            f"{sum(result.gc_pauses) / n:.1f} ms a GET on average"
        )
    print("statements of one page GET:")
    for i, statement in enumerate(result.statements, 1):
        print(f"  {i}. {statement}")
    if result.indexes:
        print(f"indexes in the main query's plan: {', '.join(result.indexes)}")
    for label, lines in result.plans:
        shown = lines if explain else lines[:0]
        if not shown:
            continue
        print(f"plan of {label} ({len(lines)} lines, first {min(len(lines), PLAN_LINES)}):")
        for line in lines[:PLAN_LINES]:
            print(f"  {line if len(line) <= 150 else line[:147] + '...'}")
    sys.stdout.flush()


def _p95_target(result: Result) -> tuple[str, str]:
    if result.engine != "postgres" or result.scale != 1:
        return f"< {MAX_PG_P95_MS:g} ms (PostgreSQL 1x)", "n/a here"
    value = p95(result.page_ms)
    return f"< {MAX_PG_P95_MS:g} ms", verdict(
        value < MAX_PG_P95_MS, f"{value / MAX_PG_P95_MS:.2f}x the budget"
    )


def print_compare(results: list[Result]) -> None:
    base, *others = results
    for other in others:
        ratio_label = f"{_scale(other.scale)}/{_scale(base.scale)}"
        factor = other.scale / base.scale
        print()
        print(
            f"=== {base.engine}: {_scale(base.scale)} vs {_scale(other.scale)} "
            f"({other.data.places / base.data.places:.1f}x the places) ==="
        )
        rows = [
            (
                "places",
                f"{base.data.places:,}",
                f"{other.data.places:,}",
                f"{other.data.places / base.data.places:.2f}",
                "",
                "",
            ),
            (
                "co-workers found",
                f"{base.coworkers:,}",
                f"{other.coworkers:,}",
                f"{other.coworkers / max(base.coworkers, 1):.2f}",
                "",
                "",
            ),
            (
                "SQL queries per page",
                f"{base.queries}",
                f"{other.queries}",
                "",
                f"<= {MAX_QUERIES}",
                verdict(
                    max(base.queries, other.queries) <= MAX_QUERIES,
                    f"{max(base.queries, other.queries) - MAX_QUERIES:+d}",
                ),
            ),
        ]
        for label, a, b in (
            ("page median", p50(base.page_ms), p50(other.page_ms)),
            ("page p95", p95(base.page_ms), p95(other.page_ms)),
            ("service median", p50(base.service_ms), p50(other.service_ms)),
            ("service p95", p95(base.service_ms), p95(other.service_ms)),
        ):
            ratio = b / a
            target, judged = "", ""
            if factor > 1:
                target = f"< {MAX_SCALE_RATIO:g}"
                judged = verdict(ratio < MAX_SCALE_RATIO, f"{ratio:.2f}x")
            rows.append((label, f"{a:.1f} ms", f"{b:.1f} ms", f"{ratio:.2f}", target, judged))
        _table(
            ("metric", _scale(base.scale), _scale(other.scale), ratio_label, "target", "verdict"),
            rows,
        )
    sys.stdout.flush()


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(line)


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 20,000 members (default)")
    parser.add_argument("--compare", help="scales to run one after the other, e.g. 1,10")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", default=DEFAULT_PG_URL, help="PostgreSQL server to use")
    parser.add_argument("--repeat", type=int, default=40, help="timed requests (>= 30)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--hidden",
        type=float,
        default=0.05,
        help="share of members who do not appear by name (default 0.05)",
    )
    parser.add_argument("--chunk", type=int, default=5000, help="rows per executemany")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    args = parser.parse_args(argv)
    if args.repeat < 30:
        parser.error("--repeat must be at least 30")
    scales = [float(s) for s in args.compare.split(",")] if args.compare else [args.scale]
    results = [run(args, scale) for scale in scales]
    if len(results) > 1:
        print_compare(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
