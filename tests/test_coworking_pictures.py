"""The pictures' dashed lines (accepted introductions): whose they are, and matched by id."""

from studygroup.extensions import db
from tests.test_introductions import answer, crew, introduce, text  # noqa: F401


def test_the_organizers_network_draws_only_introductions_they_made_or_are_in(crew, client, auth):  # noqa: F811
    """Another's introduction stays private to its three people: a dashed line for it, beside
    "introduced already" for a pair without one, would tell the organizer of a decline."""
    group, _secret, p = crew
    declined = introduce(p["Su"], p["Ta"], p["Ko"])
    answer(declined, p["Ta"])
    answer(declined, p["Ko"], accept=False)
    others = introduce(p["Ta"], p["Ko"], p["Su"])  # Su's, Ta's and Ko's business only
    answer(others, p["Su"])
    answer(others, p["Ko"])
    auth.login_as(p["Org"])
    assert "stroke-dasharray" not in text(client, f"/g/{group.slug}/network")
    own = introduce(p["Org"], p["Su"], p["Ta"])
    answer(own, p["Su"])
    answer(own, p["Ta"])
    page = text(client, f"/g/{group.slug}/network")
    assert page.count("stroke-dasharray") == 2  # Su–Ta, in the wide picture and the phone's
    assert "A dashed line joins two members who were introduced" in page


def test_the_star_matches_introduced_people_by_id_not_name(crew, client, auth):  # noqa: F811
    """Ta co-worked with Su and Ko and was introduced to It, who is also called "Ko": It gets
    a circle of their own with the dashed line; the co-worker Ko's circle has none."""
    _group, _secret, p = crew
    introduction = introduce(p["Su"], p["Ta"], p["It"])
    answer(introduction, p["Ta"])
    answer(introduction, p["It"])
    p["It"].display_name = "Ko"
    db.session.commit()
    auth.login_as(p["Ta"])
    picture = text(client, f"/people/{p['Ta'].id}/coworkers").split("<svg")[1].split("</svg>")[0]
    assert picture.count("stroke-dasharray") == 1
    assert picture.count("<title>Ko</title>") == 2 * 2  # two circles, each with its label
    assert picture.count("<circle") == 1 + 3  # Ta in the middle; Su, Ko and the other Ko


def test_no_dashed_line_tells_who_a_member_is(crew, client, auth):  # noqa: F811
    """Ko chose not to appear by name, so is "a member" on Ta's list; Ta and Ko were then
    introduced. The dashed line goes to a circle with Ko's name, never to "a member"."""
    _group, _secret, p = crew
    p["Ko"].appear_by_name = False
    db.session.commit()
    introduction = introduce(p["Org"], p["Ta"], p["Ko"])
    answer(introduction, p["Ta"])
    answer(introduction, p["Ko"])
    auth.login_as(p["Ta"])
    picture = text(client, f"/people/{p['Ta'].id}/coworkers").split("<svg")[1].split("</svg>")[0]
    assert picture.count("stroke-dasharray") == 1
    assert picture.count("<circle") == 1 + 3  # Su, "a member", and Ko by name
    assert "<title>a member</title>" in picture and "<title>Ko</title>" in picture
