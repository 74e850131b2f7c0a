"""The README's API example, as written: a token from the CLI, then the demo group's gaps."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_commands() -> tuple[list[str], str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## API\n") :]
    create = re.search(r"flask --app wsgi (api-token create [^)]*)\)", section).group(1)
    url = re.search(r"'http://127\.0\.0\.1:5000(/api/v1/[^']+)'", section).group(1)
    return create.split(), url


def test_readme_token_and_gaps(runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    args, path = _readme_commands()
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("sg_")

    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    sessions = response.get_json()["items"]
    assert sessions and len(sessions) <= 5
    for session in sessions:
        assert session["group"] == "shibuya-py" and session["status"] == "scheduled"
        assert any(role["gap"] > 0 for role in session["roles"])
        # The organizer is a member: names come with the counts.
        assert all(role["people"] is not None for role in session["roles"])
    # Without the token the same list is public (a public group), names left out.
    anonymous = client.get(path).get_json()["items"]
    assert [s["id"] for s in anonymous] == [s["id"] for s in sessions]
    assert all(role["people"] is None for s in anonymous for role in s["roles"])
