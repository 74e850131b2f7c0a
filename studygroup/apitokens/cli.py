"""`flask api-token create`: a token for a script set up from the command line, e.g.

    TOKEN=$(flask --app wsgi api-token create --email suzuki@example.com --name demo --scopes read)

Prints the raw token alone on stdout (messages go to stderr), so it can be captured."""

from datetime import timedelta

import click
from flask.cli import AppGroup

from studygroup.apitokens.models import Scope
from studygroup.apitokens.services import NAME_MAX_LENGTH, create_token, scopes_offered_to
from studygroup.auth.models import User
from studygroup.auth.services import normalize_email
from studygroup.db import utcnow
from studygroup.extensions import db

api_token_command = AppGroup("api-token", help="Personal API tokens.")


@api_token_command.command("create")
@click.option("--email", required=True, help="The member's login email.")
@click.option("--name", required=True, help="A label for the token, e.g. “calendar script”.")
@click.option(
    "--scopes",
    default="read",
    show_default=True,
    help="read, write, organize: one or more, separated by commas or spaces.",
)
@click.option("--days", type=click.IntRange(1, 3650), help="Expires after N days (default: never).")
def create_command(email: str, name: str, scopes: str, days: int | None) -> None:
    """Make a token for a member and print it (only the token, once)."""
    user = db.session.scalar(db.select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise click.ClickException(f"No member has the email {email!r}.")
    words = scopes.replace(",", " ").split()
    unknown = [w for w in words if w not in {s.value for s in Scope}]
    if unknown or not words:
        raise click.ClickException("--scopes takes read, write and organize.")
    chosen = {Scope(w) for w in words}
    if not chosen <= set(scopes_offered_to(db.session, user)):
        raise click.ClickException("Only a member who organizes a group can have organize.")
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise click.ClickException(f"--name takes 1 to {NAME_MAX_LENGTH} characters.")
    now = utcnow()
    token, raw = create_token(
        db.session,
        user,
        name=name,
        scopes=chosen,
        expires_at=now + timedelta(days=days) if days else None,
        now=now,
    )
    db.session.commit()
    click.echo(f"Made token {token.prefix}… for {user.email}.", err=True)
    click.echo(raw)
