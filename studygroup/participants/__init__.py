"""Participants (参加者): people who come to a session, apart from its staff."""
