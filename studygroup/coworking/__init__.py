from flask import Blueprint

from studygroup.coworking.picture import svg

bp = Blueprint("coworking", __name__, template_folder="templates")
# The network pictures' SVG, built in Python (`picture.svg`) for the macro in _picture.html.
bp.add_app_template_global(svg, "picture_svg")
