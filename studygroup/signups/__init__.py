from flask import Blueprint

bp = Blueprint("signups", __name__, template_folder="templates")
