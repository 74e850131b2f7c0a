"""Groups with a believable co-working history of any size, for the network picture's tests,
screenshots and timing (bench/network.py).

A group runs one or more series (a monthly main event, and in a large group weekly evenings,
workshops in other wards...). Each member has a home series and a favourite role, and now and
then helps elsewhere, so the history has crews that work side by side, and a few people who
link them: what a real group's picture shows after some years. Everything comes from one seed,
so a size always gives the same group.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.groups.models import Anchor, MemberRole, Membership, MembershipStatus, RoleType
from studygroup.groups.role_types import add_role_type
from studygroup.sessions.models import RoleSlot
from studygroup.sessions.services import create_session, to_utc
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance

SURNAMES = (  # noqa: SIM905 (a list of names reads best as one)
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 "
    "松本 井上 木村 林 斎藤 清水 山崎 森 池田 橋本 阿部 石川 山下 中島 石井 "
    "小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 勅使河原 五十嵐"
).split()
GIVEN = (  # noqa: SIM905 (a list of names reads best as one)
    "翔 陽菜 大輔 さくら 悠 美咲 健太 愛 拓海 花子 蓮 結衣 湊 葵 陽翔 凛 "
    "大和 芽依 悠真 莉子 颯太 美月 誠 由美 太郎 恵 直樹 彩 亮 真央 三郎太"
).split()
ENGLISH = (
    "Daniel Fischer",
    "Priya Nair",
    "Alexandra Konstantinopoulou",
    "Tom Baker",
    "Maria Garcia",
    "Chen Wei",
    "Olivia Brown",
    "Lucas Martin",
    "Aisha Khan",
    "Noah Wilson",
    "Emma Schmidt",
    "Kim Min-jun",
    "Sophie Dubois",
    "Liam O'Connor",
    "Nguyen Thi Lan",
    "Jean-Baptiste Rousseau",
)
# role key (cleanup and streaming are the group's own) -> how often it is a favourite
FAVOURITES = {"setup": 4, "reception": 3, "speaker": 2, "streaming": 1, "cleanup": 3}
HEADCOUNTS = {"setup": 3, "reception": 2, "speaker": 2, "streaming": 1, "cleanup": 2}


@dataclass
class NetworkGroup:
    group_id: int
    member_ids: list[int]
    sessions: int
    places: int


def names(count: int, rng: random.Random) -> list[str]:
    """`count` different display names, mostly Japanese, some English, a few long."""
    pool = [f"{s} {g}" for s in SURNAMES for g in GIVEN]
    rng.shuffle(pool)
    english = list(ENGLISH)
    result = []
    for i in range(count):
        result.append(english.pop() if i % 7 == 3 and english else pool.pop())
    return result


def make_network_group(
    db_session,
    organizer: User,
    group,
    size: int,
    *,
    seed: int = 1,
    today: date | None = None,
) -> NetworkGroup:
    """Add `size` members to `group` and give them a history: one series per 30 members, each
    with 12 monthly sessions a year for a year (two years from 60 members on)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = today or date.today()
    keys = _role_keys(db_session, group, now)
    users = [
        User(
            email=f"network-{seed}-{i}@example.com",
            password_hash="!",  # nobody logs in as them
            display_name=name,
            timezone="Asia/Tokyo",
        )
        for i, name in enumerate(names(size, rng))
    ]
    db_session.add_all(users)
    db_session.flush()
    db_session.add_all(
        Membership(
            user_id=u.id,
            group_id=group.id,
            role=MemberRole.MEMBER,
            status=MembershipStatus.ACTIVE,
            joined_at=now - timedelta(days=800),
        )
        for u in users
    )
    series = max(1, round(size / 30))
    months = 12 if size < 60 else 24
    home = {u.id: rng.randrange(series) for u in users}
    favourite = {
        u.id: rng.choices(list(FAVOURITES), weights=list(FAVOURITES.values()))[0] for u in users
    }
    regular = {u.id: rng.random() for u in users}  # how often they come
    by_series = [[u.id for u in users if home[u.id] == s] for s in range(series)]
    sessions = places = 0
    for s in range(series):
        hour = 10 + (s % 3) * 3
        for m in range(months, 0, -1):
            day = _month_day(today, m, week=1 + s % 4, weekday=5 - (s // 4) % 2)
            session = create_session(
                db_session,
                group=group,
                title=f"Series {s + 1} #{months - m + 1}",
                starts_at=to_utc(day, time(hour), group.timezone),
                ends_at=to_utc(day, time(hour + 2), group.timezone),
                now=now,
            )
            sessions += 1
            slots = db_session.scalars(
                sa.select(RoleSlot).where(RoleSlot.session_id == session.id)
            ).all()
            taken: set[int] = set()
            for slot in slots:
                key = keys[slot.role_type_id]
                want = HEADCOUNTS.get(key, 1) + (1 if size >= 60 else 0)
                for _ in range(want):
                    visitor = rng.random() < 0.12 and series > 1
                    pool = by_series[rng.randrange(series)] if visitor else by_series[s]
                    fans = [i for i in pool if favourite[i] == key and i not in taken]
                    others = [i for i in pool if i not in taken]
                    choice = fans if fans and rng.random() < 0.8 else others
                    choice = [i for i in choice if rng.random() < 0.35 + 0.65 * regular[i]]
                    if not choice:
                        continue
                    member_id = rng.choice(choice)
                    taken.add(member_id)
                    db_session.add(
                        Assignment(
                            slot_id=slot.id,
                            user_id=member_id,
                            status=AssignmentStatus.CONFIRMED,
                            attendance=Attendance.WORKED,
                            confirmed_at=now,
                            attendance_marked_at=now,
                        )
                    )
                    places += 1
    db_session.flush()
    return NetworkGroup(group.id, [u.id for u in users], sessions, places)


def _role_keys(db_session, group, now) -> dict[int, str]:
    """The group's roles by id, with cleanup and streaming added once."""
    existing = {
        (rt.key or rt.name): rt
        for rt in db_session.scalars(sa.select(RoleType).where(RoleType.group_id == group.id))
    }
    # (name, start, end): cleanup after the session, streaming through it
    for name, start, end in (
        ("cleanup", (Anchor.END, 0), (Anchor.END, 30)),
        ("streaming", (Anchor.START, 0), (Anchor.END, 0)),
    ):
        if name not in existing:
            existing[name] = add_role_type(
                db_session,
                group=group,
                name=name,
                default_headcount=HEADCOUNTS[name],
                start_anchor=start[0],
                start_offset_minutes=start[1],
                end_anchor=end[0],
                end_offset_minutes=end[1],
                requires_approval=False,
                now=now,
            )
    db_session.flush()
    return {rt.id: key for key, rt in existing.items()}


def _month_day(today: date, months_back: int, *, week: int, weekday: int) -> date:
    """The `week`th `weekday` of the month `months_back` months before today's."""
    index = today.year * 12 + today.month - 1 - months_back
    first = date(index // 12, index % 12 + 1, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))
