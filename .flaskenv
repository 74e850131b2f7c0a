# Read by the `flask` command only (never by gunicorn): the CLI is a developer's tool.
FLASK_APP=wsgi
STUDYGROUP_ENV=development
