"""Every model, imported in one place so mappers and Alembic see the whole schema."""

from studygroup.announcements.models import Announcement, AnnouncementRecipient, Audience
from studygroup.apitokens.models import ApiRateWindow, ApiToken, Scope
from studygroup.auth.models import LoginFailure, Skill, User, user_skill
from studygroup.coworking.models import Tie, TieRole, TieWatermark
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
from studygroup.introductions.models import Introduction, IntroductionRequest
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.pagecache.models import DataRevision
from studygroup.participants.models import (
    Participant,
    ParticipantAnswer,
    ParticipantQuestion,
    ParticipantStatus,
    QuestionKind,
)
from studygroup.relationships.models import CardSent
from studygroup.sessions.models import RoleSlot, SessionSeries, SessionStatus, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance, StaffingChange
from studygroup.thanks.models import ThanksNote
from studygroup.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookFormat,
)

__all__ = [
    "Anchor",
    "ApiRateWindow",
    "ApiToken",
    "Scope",
    "DataRevision",
    "Announcement",
    "AnnouncementRecipient",
    "Audience",
    "Participant",
    "ParticipantAnswer",
    "ParticipantQuestion",
    "ParticipantStatus",
    "QuestionKind",
    "Assignment",
    "AssignmentStatus",
    "Attendance",
    "CardSent",
    "EmailStatus",
    "OutboundEmail",
    "StaffingChange",
    "Group",
    "Introduction",
    "IntroductionRequest",
    "JoinPolicy",
    "LoginFailure",
    "MemberRole",
    "Membership",
    "MembershipStatus",
    "RoleSlot",
    "RoleType",
    "SessionSeries",
    "SessionStatus",
    "Skill",
    "StudySession",
    "ThanksNote",
    "Tie",
    "TieRole",
    "TieWatermark",
    "User",
    "user_skill",
    "Visibility",
    "DeliveryStatus",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookFormat",
]

# Recounts the co-working ties of the sessions a transaction changed, at its commit.
from studygroup.coworking import ties as _ties  # noqa: E402,F401

# Queues webhook events in the transaction of the change that sent them (blinker receivers).
from studygroup.webhooks import services as _webhooks  # noqa: E402,F401
