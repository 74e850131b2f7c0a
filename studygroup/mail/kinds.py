"""What each kind of email says, and which kinds carry what (the catalogue `compose_email`
reads): one entry per kind, so a new kind of message is one place to add."""

from flask_babel import lazy_gettext as _l

# kind -> (subject, first line, the member's setting that turns it off)
MESSAGES = {
    "signup_confirmed": (
        _l("You are signed up: %(role)s, %(session)s"),
        _l("Thank you for helping! Your place is confirmed."),
        "email_signups",
    ),
    "waitlist_joined": (
        _l("On the waitlist: %(role)s, %(session)s"),
        _l(
            "The role is full, so you are on the waitlist. If a place frees up, it is yours "
            "and we tell you by email."
        ),
        "email_waitlist",
    ),
    "waitlist_promoted": (
        _l("A place freed up — you are in: %(role)s, %(session)s"),
        _l("Someone cancelled and you were first on the waitlist: your place is confirmed."),
        "email_waitlist",
    ),
    "waitlist_passed_over": (
        _l("A place freed up, but it overlaps another of your roles: %(role)s, %(session)s"),
        _l(
            "A place freed up in this role, but its time overlaps your place as "
            "%(other_role)s at the same session, so it went to the next person. You keep your "
            "number on the waitlist: to take a place here, first give up %(other_role)s."
        ),
        "email_waitlist",
    ),
    "request_received": (
        _l("Request sent: %(role)s, %(session)s"),
        _l("An organizer will confirm or decline your request."),
        "email_signups",
    ),
    "request_approved": (
        _l("Confirmed: %(role)s, %(session)s"),
        _l("An organizer confirmed your request. Thank you!"),
        "email_signups",
    ),
    "request_declined": (
        _l("Not this time: %(role)s, %(session)s"),
        _l("An organizer declined your request for this session."),
        "email_signups",
    ),
    "place_cancelled": (
        _l("Cancelled: %(role)s, %(session)s"),
        _l("Your place is cancelled. Thank you for letting us know in time."),
        "email_signups",
    ),
    "waitlist_withdrawn": (
        _l("Off the waitlist: %(role)s, %(session)s"),
        _l("You left the waitlist for this role. Thank you for letting us know."),
        "email_waitlist",
    ),
    "request_withdrawn": (
        _l("Request withdrawn: %(role)s, %(session)s"),
        _l("You withdrew your request for this role. Thank you for letting us know."),
        "email_signups",
    ),
    "place_removed": (
        _l("Your place was removed: %(role)s, %(session)s"),
        _l("An organizer removed your place in this role."),
        "email_signups",
    ),
    "assigned": (
        _l("You were assigned: %(role)s, %(session)s"),
        _l("An organizer gave you this place. If you cannot come, please cancel it."),
        "email_signups",
    ),
    "team_place": (
        _l("You are on the team: %(role)s, %(session)s"),
        _l(
            "The organizers formed the team for this session and gave you this place. You can "
            "still give it up under the usual rules, or offer it to someone else."
        ),
        "email_signups",
    ),
    "session_changed": (
        _l("Changed: %(session)s"),
        _l("The session you are helping at has changed."),
        "email_session_changes",
    ),
    "session_cancelled": (
        _l("Cancelled: %(session)s"),
        _l("The session you were helping at is cancelled. Thank you all the same."),
        "email_session_changes",
    ),
    "reminder": (
        _l("Reminder: %(role)s, %(session)s"),
        _l("A reminder of your place at the coming session."),
        "email_reminders",
    ),
    # Swaps (signups.offers): a place offered to those who can help, taken by one of them.
    "place_offered": (
        _l("Can you take this place? %(other_role)s, %(session)s"),
        _l(
            "%(name)s cannot come and offers their place as %(other_role)s. You said you can "
            "help, or you wait for this role: the first to take it gets it."
        ),
        "email_signups",
    ),
    "took_place": (
        _l("The place is yours: %(role)s, %(session)s"),
        _l("%(name)s could not come, and you took their place. Thank you for helping!"),
        "email_signups",
    ),
    "place_taken": (
        _l("Your place was taken: %(role)s, %(session)s"),
        _l(
            "%(name)s took your place as %(role)s: you are no longer on this role. Thank you "
            "for finding someone."
        ),
        "email_signups",
    ),
    # To organizers: something waits for their answer.
    "talk_request": (
        _l("To answer: %(name)s asks to speak at %(session)s"),
        _l("%(name)s asks for a place as %(role)s. It waits for an organizer's answer."),
        "email_organizer_requests",
    ),
    "approval_request": (
        _l("To answer: %(name)s asks for a place as %(role)s, %(session)s"),
        _l(
            "%(name)s asks for a place as %(role)s. After their no-shows in this group, "
            "their sign-ups wait for an organizer's answer."
        ),
        "email_organizer_requests",
    ),
    "team_suggestion": (
        _l("Suggested team: %(session)s"),
        _l(
            "The session is coming up and its team is not accepted yet. Here is the "
            "suggested team; swap anyone and accept it on the team page:"
        ),
        "email_organizer_requests",
    ),
    "join_request": (
        _l("To answer: %(name)s asks to join %(group)s"),
        _l("%(name)s asks to join the group. It waits for an organizer's answer."),
        "email_organizer_requests",
    ),
    "join_approved": (
        _l("Welcome to %(group)s"),
        _l(
            "An organizer accepted your request to join %(group)s: you can sign up for its "
            "sessions now."
        ),
        "email_signups",
    ),
    "thanks_received": (
        _l("%(name)s sent you a thank-you note: %(session)s"),
        _l("%(name)s, who worked %(session)s with you, sent you a thank-you note:"),
        "email_thanks",
    ),
    # Introductions: a member introduced you (the other is not named before both accept),
    # someone asks you for one, and both accepted (the other's name, note and address).
    "introduction_made": (
        _l("%(name)s would like to introduce you to someone"),
        _l(
            "%(name)s would like to introduce you to someone they know. Do you accept? "
            "Your answer is private: if you decline, no one is told. If you both accept, "
            "each of you gets the other's name and email address, and %(name)s's note."
        ),
        "email_introductions",
    ),
    "introduction_requested": (
        _l("%(name)s asks you for an introduction to %(other)s"),
        _l(
            "%(name)s asks you to introduce them to %(other)s. You may make the introduction "
            "or let the request pass: %(name)s is not told either way."
        ),
        "email_introductions",
    ),
    "introduction_accepted": (
        _l("Introduction complete: you and %(other)s"),
        _l("You and %(other)s both accepted %(name)s's introduction. %(name)s's note:"),
        "email_introductions",
    ),
    "thanks_reported": (
        _l("To answer: a thank-you note was reported, %(session)s"),
        _l(
            "%(name)s reported a thank-you note they received after this session. Please "
            "read it on the session's page and remove it if it is abusive."
        ),
        "email_organizer_requests",
    ),
    # Organizers' announcements (announcements.services writes them with a frame of their
    # own: the subject and text are the organizer's).
    "announcement": (
        _l("[%(group)s] %(subject)s"),
        _l("%(name)s, an organizer of %(group)s, sent this announcement."),
        "email_announcements",
    ),
    # Participants (studygroup.participants): coming to a session, apart from its staff.
    "participant_registered": (
        _l("You are registered: %(session)s"),
        _l(
            "You are registered to take part. Show the QR code or tell your code at "
            "reception on the day."
        ),
        "email_signups",
    ),
    "participant_waitlisted": (
        _l("On the waitlist: %(session)s"),
        _l(
            "The session is full, so you are on the waitlist. If a seat frees up, it is "
            "yours and we tell you by email."
        ),
        "email_waitlist",
    ),
    "participant_promoted": (
        _l("A seat freed up — you are registered: %(session)s"),
        _l(
            "Someone cancelled and you were first on the waitlist: you are registered. Show "
            "the QR code or tell your code at reception on the day."
        ),
        "email_waitlist",
    ),
    "participant_cancelled_by_org": (
        _l("Registration cancelled: %(session)s"),
        _l(
            "Your registration was cancelled by the organizers. If you think this is a "
            "mistake, please ask them."
        ),
        "email_signups",
    ),
    "participant_reminder": (
        _l("Reminder: %(session)s"),
        _l("A reminder of the session you registered for."),
        "email_reminders",
    ),
    "participant_session_changed": (
        _l("Changed: %(session)s"),
        _l("The session you registered for has changed."),
        "email_session_changes",
    ),
    "participant_session_cancelled": (
        _l("Cancelled: %(session)s"),
        _l("The session you registered for is cancelled. We are sorry for the trouble."),
        "email_session_changes",
    ),
    # Account links (studygroup.auth.reset): nobody can turn these off, they are the way in.
    "password_reset": (
        _l("Set a new password for studygroup"),
        _l(
            "Someone, we hope you, asked to set a new password for your studygroup account. "
            "To choose one, open this link:"
        ),
        None,
    ),
    "webhook_paused": (
        _l("Webhook paused: %(group)s"),
        _l(
            "A webhook of %(group)s has failed for days, so it is paused: nothing more is "
            "sent to it until an organizer resumes it. Its address:"
        ),
        None,
    ),
    "walk_in_welcome": (
        _l("Welcome to %(group)s: set your password"),
        _l(
            "You were registered at reception for %(session)s, and an account was made for "
            "you with this email address. To log in, choose your password at this link:"
        ),
        None,
    ),
}

# The kinds whose message carries the participant's code as a QR image (an HTML part).
WITH_QR = {"participant_registered", "participant_promoted", "participant_reminder"}

# The kinds whose message gives the other member's email address (both agreed to it).
SHARES_ADDRESS = {"introduction_accepted"}

# The kinds that go to organizers, about someone else's request.
TO_ORGANIZERS = {
    "talk_request",
    "approval_request",
    "join_request",
    "thanks_reported",
    "team_suggestion",
    "webhook_paused",
}
