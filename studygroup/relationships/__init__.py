"""Relationships that grow from the work: the yearly list (年賀状リスト), for now.

Sits above `coworking/` and asks it questions through its public functions."""

from flask import Blueprint

bp = Blueprint("relationships", __name__, template_folder="templates")
