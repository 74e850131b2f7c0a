"""Importing this attaches the API's hooks and operations to its blueprint."""

from studygroup.api import docs, groups, hooks, me, organize, places, sessions  # noqa: F401
