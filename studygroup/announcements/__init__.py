"""Announcements (お知らせ): organizers write to a session's participants, staff, or the group."""
