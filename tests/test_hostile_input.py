"""Property-based: no route answers 5xx, whatever a visitor puts in a path, a query string or
a form, and a 400 says why.

Routes come from the app's URL map, so a route added later is covered without a change here;
it fails only if it answers 5xx. Each route gets its own test, run as an organizer, a member
and an anonymous visitor (drawn per example), with real ids and tokens or hostile ones in the
path, hostile query strings, and for POST the fields of the forms the pages really show (found
by reading every page once), each kept or replaced by a hostile value.

Profiles: `dev` (default) keeps failing examples in the git-ignored `.hypothesis/`; `ci` (when
CI is set) is derandomized, so a failure reproduces; HYPOTHESIS_PROFILE=thorough tries more.
"""

import itertools
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException

from studygroup import create_app
from studygroup.apitokens.models import Scope
from studygroup.apitokens.services import create_token
from studygroup.auth.reset import Purpose, password_link_token
from studygroup.auth.services import register_user
from studygroup.calendar import tokens
from studygroup.extensions import db
from studygroup.groups.models import (
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    RoleType,
    Visibility,
)
from studygroup.groups.services import create_group, join_group
from studygroup.sessions.services import create_session, to_utc
from studygroup.signups.organizing import assign
from studygroup.signups.services import sign_up
from studygroup.webhooks.models import Webhook
from tests.conftest import isolated_app
from tests.factories import CHEAP, PASSWORD, slots_of

_COMMON = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,  # one world per route, shared by its examples
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    "print_blob": True,
}
settings.register_profile("dev", max_examples=12, **_COMMON)
settings.register_profile("ci", max_examples=12, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=300, **_COMMON)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

GENERIC_400 = "The request could not be handled."

# --- hostile values -------------------------------------------------------------------------

HUGE = [
    "2147483648",
    "2147483647",
    "9223372036854775808",
    "-2147483649",
    "-1",
    "0",
    "1e9",
    "9" * 40,
]
OTHER_DIGITS = ["²", "٣", "１２", "۴۲", "𝟗", "⁴⁸", "Ⅻ", "১০", "12²"]
CONTROL = ["\x00", "a\x00b", "1\x00", "\x1b[31m", "\r\n", "\x7f", "\u2028", "\ufeff", "\t"]
LONG = ["x" * 5000, "あ" * 2000, "9" * 400, "a," * 300, "FREQ=WEEKLY;" * 60]
TEXT = [
    "🎉",
    "👨‍👩‍👧",
    "渋谷Python勉強会",
    "ｶﾀｶﾅ",
    "𠮷野家",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "../../etc/passwd",
    "FREQ=WEEKLY;INTERVAL=²",
    "FREQ=MONTHLY;BYDAY=+3SA;COUNT=٣",
    "24,²",
]
BLANK = ["", " ", "\u3000", "\t\n"]
DATES = [
    "2027-02-30",
    "0000-00-00",
    "9999-12-31",
    "0001-01-01",
    "2027-13-01",
    "2027-1-1",
    "24:00",
    "25:61",
    "-1:00",
    "10:00:00",
    "2027-01-01T10:00",
    "１０:００",
    "令和9年",
]
HOSTILE = HUGE + OTHER_DIGITS + CONTROL + LONG + TEXT + BLANK + DATES

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.tuples(st.sampled_from(HOSTILE), st.sampled_from(HOSTILE)).map("".join),
)

# Query string names the app reads (and that lists may read); pages add what their links use.
QUERY_NAMES = {"group", "year", "order", "all", "next", "lang", "page", "q", "month", "before"}

# --- the routes -----------------------------------------------------------------------------

_ARG = re.compile(r"<(?:(?P<converter>[^:<>]+):)?(?P<name>[^<>]+)>")


def _rules():
    app = create_app(
        {"SECRET_KEY": "x", "ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    return sorted(
        (rule.rule, tuple(sorted(rule.methods - {"HEAD", "OPTIONS"})), rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
    )


RULES = _rules()


# --- a world with one of everything ---------------------------------------------------------


@dataclass
class World:
    users: dict
    slugs: list[str]
    ids: dict[str, list[int]]
    tokens: list[str]
    all_ids: list[int] = field(default_factory=list)


_worlds = itertools.count(1)


def build_world() -> World:
    """Made through the app's services in one transaction (a world per route keeps it fast)."""
    now = datetime.now(UTC)
    n = next(_worlds)

    def user(name):
        return register_user(
            db.session,
            email=f"{name.split()[-1].lower()}{n}@example.com",
            password=PASSWORD,
            display_name=name,
            cost=CHEAP,
        )

    def group(creator, slug, **policy):
        return create_group(
            db.session,
            creator=creator,
            name=f"勉強会 {slug}",
            slug=slug,
            timezone="Asia/Tokyo",
            default_venue="Hall",
            now=now,
            **policy,
        )

    def session(day):
        return create_session(
            db.session,
            group=open_group,
            title="Meetup",
            starts_at=to_utc(day, time(10), "Asia/Tokyo"),
            ends_at=to_utc(day, time(12), "Asia/Tokyo"),
            venue="Hall",
            now=now,
        )

    organizer, member, other = user("主催者 Organizer"), user("Member 🎉"), user("Other")
    open_group = group(
        organizer, f"open-{n}", join_policy=JoinPolicy.OPEN, visibility=Visibility.PUBLIC
    )
    closed = group(
        organizer, f"closed-{n}", join_policy=JoinPolicy.APPROVAL, visibility=Visibility.MEMBERS
    )
    for who, where in [(member, open_group), (other, open_group), (member, closed)]:
        db.session.add(
            Membership(
                user_id=who.id,
                group_id=where.id,
                role=MemberRole.MEMBER,
                status=MembershipStatus.ACTIVE,
                joined_at=now,
            )
        )
    db.session.flush()
    closed_membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.group_id == closed.id, Membership.user_id == member.id
        )
    )
    join_group(db.session, user=user("Newcomer"), group=closed, now=now)  # waits for approval
    future = session(date.today() + timedelta(days=30))
    past = session(date.today() - timedelta(days=7))
    slots, past_slots = slots_of(future), slots_of(past)
    places = [
        sign_up(db.session, member=member, slot=slots["reception"], now=now),
        sign_up(db.session, member=other, slot=slots["speaker"], now=now, talk_title="Talk"),
        assign(
            db.session, organizer=organizer, member=member, slot=past_slots["setup"], now=now
        ).place,
    ]
    # A personal API token each: the revoke pages take them.
    api_tokens = [
        create_token(db.session, who, name="script", scopes={Scope.READ}, expires_at=None, now=now)[
            0
        ]
        for who in (organizer, member)
    ]
    # A webhook of the open group (its pages; .invalid never resolves, so nothing leaves).
    webhook = Webhook(
        group_id=open_group.id,
        url="https://receiver.invalid/hook",
        events=["session.posted"],
        created_by_id=organizer.id,
    )
    db.session.add(webhook)
    db.session.commit()
    memberships = db.session.scalars(
        sa.select(Membership.id).where(Membership.group_id.in_([open_group.id, closed.id]))
    ).all()
    ids = {
        "session_id": [future.id, past.id],
        "slot_id": [s.id for s in [*slots.values(), *past_slots.values()]],
        "place_id": [p.id for p in places],
        "membership_id": list(memberships),
        "role_id": list(
            db.session.scalars(sa.select(RoleType.id).where(RoleType.group_id == open_group.id))
        ),
        "user_id": [organizer.id, member.id, other.id],
        "token_id": [t.id for t in api_tokens],
        "webhook_id": [webhook.id],
    }
    world = World(
        users={"organizer": organizer, "member": member},
        slugs=[open_group.slug, closed.slug],
        ids=ids,
        tokens=[
            open_group.invite_token,
            member.coworkers_link_token,
            tokens.token_of(member),
            tokens.group_link_token(closed_membership, closed, member),
            # A working "set your password" link (studygroup.auth.reset).
            password_link_token(
                member, purpose=Purpose.RESET, secret_key=current_app.config["SECRET_KEY"], now=now
            ),
        ],
    )
    world.all_ids = sorted({i for values in ids.values() for i in values})
    return world


@pytest.fixture(scope="module")
def app(migrated_database):
    """One app for the module (building one per route would double its time)."""
    with isolated_app(migrated_database) as app:
        yield app


@pytest.fixture(scope="module")
def shared_world(app):
    return build_world()


@pytest.fixture
def world(request, shared_world):
    """Reading routes share a world; a route that takes a POST gets its own to change."""
    methods = getattr(request.node, "callspec", None) and request.node.callspec.params["methods"]
    return build_world() if not methods or "POST" in methods else shared_world


def login(app, world: World, role: str):
    client = app.test_client()
    if role != "anonymous":
        user = db.session.get(type(world.users[role]), world.users[role].id)
        db.session.refresh(user)  # a logout or password change gave it a new token
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


# --- forms the pages show -------------------------------------------------------------------


@dataclass(frozen=True)
class FormVariant:
    """One way a page's POST form can be sent: its fields with the values the page offers, and
    the button pressed (browsers send only that one). The address is kept by its place in the
    world (`("session_id", 1)`), so any world can fill it in."""

    endpoint: str
    args: tuple[tuple[str, tuple[str, int]], ...]
    fields: tuple[tuple[str, tuple[str, ...]], ...]
    button: tuple[str, str] | None


def _sample(kind: str, name: str) -> str:
    """A value an empty input would take, so a form gets past its required fields."""
    if kind == "time":
        return "12:00" if "end" in name else "10:00"
    return {
        "checkbox": "y",
        "date": (date.today() + timedelta(days=40)).isoformat(),
        "number": "1",
        "email": "sample@example.com",
        "password": "sample password 123",
    }.get(kind, "sample-text")


class FormReader(HTMLParser):
    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: list[tuple[str, dict[str, list[str]], list[tuple[str, str]]]] = []
        self.links: set[str] = set()
        self._form: dict[str, list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.add(a["href"])
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {}
            self.forms.append((a.get("action") or self.page_path, self._form, []))
            return
        if self._form is None:
            return
        if tag == "option" and self._select:
            self._form[self._select].append(a.get("value", ""))
        name = a.get("name")
        if not name or name == "csrf_token":
            return
        kind = (a.get("type") or "text").lower()
        if tag == "button" or (tag == "input" and kind == "submit"):
            self.forms[-1][2].append((name, a.get("value", "")))
        elif tag == "input":
            self._form.setdefault(name, []).append(a.get("value") or _sample(kind, name))
        elif tag == "textarea":
            self._form.setdefault(name, []).append("sample text")
        elif tag == "select":
            self._select = name
            self._form.setdefault(name, [])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None


def _path(rule: str, values: dict[str, str]) -> str:
    return _ARG.sub(lambda m: quote(values[m["name"]], safe=""), rule)


def _real_value(world: World, converter: str | None, name: str, pick: int = 0) -> str:
    if converter == "int":
        choices = world.ids.get(name) or world.all_ids
        return str(choices[pick % len(choices)])
    if name == "slug":
        return world.slugs[pick % len(world.slugs)]
    return world.tokens[pick % len(world.tokens)]


def _symbol(world: World, name: str, value) -> tuple[str, int]:
    """Where a value of an address sits in the world, to find its twin in another world."""
    if isinstance(value, int):
        pool = world.ids.get(name) or world.all_ids
        return name, pool.index(value) if value in pool else 0
    pool = world.slugs if name == "slug" else world.tokens
    return name, pool.index(value) if value in pool else 0


def _address(app, world: World, variant: FormVariant) -> str:
    values = {}
    for name, (pool_name, index) in variant.args:
        if pool_name == "slug":
            values[name] = world.slugs[index]
        elif pool_name in world.ids or pool_name.endswith("_id"):
            pool = world.ids.get(pool_name) or world.all_ids
            values[name] = pool[index]
        else:
            values[name] = world.tokens[index]
    return app.url_map.bind("localhost").build(variant.endpoint, values)


_FORMS: dict[str, list[FormVariant]] = {}


def read_forms(app, world: World) -> dict[str, list[FormVariant]]:
    """Visit every page as each role, keep the POST forms by endpoint (once per run)."""
    if _FORMS:
        return _FORMS
    adapter = app.url_map.bind("localhost")
    seen = set()
    for role in ("organizer", "member", "anonymous"):
        client = login(app, world, role)
        for rule, methods, _endpoint in RULES:
            if "GET" not in methods:
                continue
            for pick in range(2 if role == "organizer" else 1):
                values = {
                    m["name"]: _real_value(world, m["converter"], m["name"], pick)
                    for m in _ARG.finditer(rule)
                }
                path = _path(rule, values)
                response = client.get(path)
                if response.mimetype != "text/html":
                    continue
                reader = FormReader(path)
                reader.feed(response.get_data(as_text=True))
                for href in reader.links:
                    QUERY_NAMES.update(
                        part.split("=")[0] for part in urlsplit(href).query.split("&") if part
                    )
                for action, fields, buttons in reader.forms:
                    try:
                        endpoint, args = adapter.match(urlsplit(action).path, method="POST")
                    except HTTPException:
                        continue
                    for button in buttons or [None]:
                        variant = FormVariant(
                            endpoint,
                            tuple(sorted((k, _symbol(world, k, v)) for k, v in args.items())),
                            tuple(sorted((k, tuple(v)) for k, v in fields.items())),
                            button,
                        )
                        # One per endpoint, fields and button: the staffing page repeats each.
                        key = (endpoint, tuple(n for n, _v in variant.fields), button)
                        if key not in seen:
                            seen.add(key)
                            _FORMS.setdefault(endpoint, []).append(variant)
    return _FORMS


def _offered(variant: FormVariant) -> dict[str, str]:
    # The last choice: the first is usually the default the other tests take.
    data = {name: values[-1] for name, values in variant.fields if values}
    if variant.button:
        data[variant.button[0]] = variant.button[1]
    return data


# --- the properties -------------------------------------------------------------------------


def check(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"
    if response.status_code == 400 and response.mimetype == "text/html":
        assert GENERIC_400 not in response.get_data(as_text=True), f"{what}: a 400 without why"


@st.composite
def requests(draw, rule: str, methods: tuple, endpoint: str, world: World, forms: dict):
    role = draw(st.sampled_from(["organizer", "member", "anonymous"]))
    values = {}
    for m in _ARG.finditer(rule):
        real = _real_value(world, m["converter"], m["name"], draw(st.integers(0, 5)))
        values[m["name"]] = draw(st.one_of(st.just(real), hostile_text))
    names = sorted(QUERY_NAMES)
    query = draw(st.dictionaries(st.sampled_from(names), hostile_text, max_size=3))
    method = draw(st.sampled_from(methods))
    data = None
    if method == "POST":
        # This route's forms, or (a route no page links to) any form at all.
        known = forms.get(endpoint) or [v for variants in forms.values() for v in variants]
        variant = draw(st.sampled_from(known))
        data = {}
        for name, offered in variant.fields:
            if offered:
                data[name] = draw(st.sampled_from(offered))
        if variant.button:
            data[variant.button[0]] = variant.button[1]
        for name in draw(st.lists(st.sampled_from(sorted(data) or ["x"]), max_size=2)):
            data[name] = draw(hostile_text)
        for name in draw(st.lists(st.sampled_from(sorted(data) or ["x"]), max_size=1)):
            data.pop(name, None)
    return role, _path(rule, values), method, query, data


@pytest.mark.parametrize(
    ("rule", "methods", "endpoint"), RULES, ids=[f"{e}:{'/'.join(m)}" for _r, m, e in RULES]
)
def test_no_route_answers_5xx_to_hostile_input(app, world, rule, methods, endpoint):
    forms = read_forms(app, world)

    @given(requests(rule, methods, endpoint, world, forms))
    def property(request):
        role, path, method, query, data = request
        client = login(app, world, role)
        response = client.open(path, method=method, query_string=query, data=data)
        check(response, f"{method} {path!r} query={query!r} data={data!r} as {role}")

    property()


# Values of each kind, tried in every field of every form (the property above draws them at
# random; this makes sure each kind reaches each field at least once): past the database's
# integer; digits int() or isdigit() take but are not ASCII; NUL; long, emoji and Japanese;
# a date that does not exist. A rule with a superscript digit stands for text that is parsed.
EACH_KIND = [
    "2147483648",
    "１２²",
    "FREQ=WEEKLY;INTERVAL=²",
    "a\x00b",
    "🎉 渋谷" * 700,
    "2027-02-30",
]


@pytest.mark.parametrize("endpoint", sorted({e for _r, m, e in RULES if "POST" in m}))
def test_every_field_of_every_form_takes_each_kind_of_bad_value(app, shared_world, endpoint):
    variants = read_forms(app, shared_world).get(endpoint, [])
    for variant in variants:
        names = [name for name, _values in variant.fields]
        names += [variant.button[0]] if variant.button else []
        if not names:
            continue
        world = build_world()  # a world of its own: an earlier button may have removed a place
        client = login(app, world, "organizer")
        path = _address(app, world, variant)
        for name in names:
            for value in EACH_KIND:
                data = {**_offered(variant), name: value}
                response = client.post(path, data=data)
                check(response, f"POST {path} {name}={value[:20]!r} ({variant.button})")


PATH_KINDS = ["a\x00b", "🎉渋谷" * 300, f"{2**31}.{'A' * 43}", "2147483648"]
STRING_ARGS = [
    (rule, methods[0], m["name"])
    for rule, methods, _endpoint in RULES
    for m in _ARG.finditer(rule)
    if m["converter"] is None
]


@pytest.mark.parametrize(("rule", "method", "name"), STRING_ARGS)
def test_every_address_takes_each_kind_of_bad_value(app, shared_world, rule, method, name):
    client = login(app, shared_world, "organizer")
    for value in PATH_KINDS:
        values = {
            m["name"]: _real_value(shared_world, m["converter"], m["name"])
            for m in _ARG.finditer(rule)
        }
        path = _path(rule, {**values, name: value})
        check(client.open(path, method=method), f"{method} {path[:120]!r}")


def test_the_forms_of_every_page_were_found(app, shared_world):
    """The properties post what the pages offer: make sure they found the forms."""
    forms = read_forms(app, shared_world)
    for endpoint in (
        "groups.edit",
        "sessions.new_series",
        "sessions.new",
        "signups.place_action",
        "signups.assign_member",
        "groups.member_action",
        "auth.login",
        "auth.register",
        "auth.profile",
        "auth.forgot_password",
    ):
        assert endpoint in forms, endpoint
    moves = [_offered(v) for v in forms["signups.place_action"]]
    assert any(data.get("action") == "move" and "to_slot_id" in data for data in moves)


def test_login_with_hostile_email_and_password(app, world):
    client = app.test_client()

    @given(hostile_text, st.one_of(st.just(PASSWORD), hostile_text))
    def property(email, password):
        response = client.post("/login", data={"email": email, "password": password})
        check(response, f"login {email!r}")

    property()
