"""Pages worth sharing: Open Graph and Twitter card tags, the card image, schema.org JSON-LD."""

from flask import Blueprint

bp = Blueprint("sharing", __name__, template_folder="templates")
