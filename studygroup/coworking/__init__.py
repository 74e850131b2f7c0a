from flask import Blueprint

bp = Blueprint("coworking", __name__, template_folder="templates")
