import pytest

from studygroup import create_app


def test_development_generates_a_secret_key_once(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("STUDYGROUP_SECRET_KEY", raising=False)
    monkeypatch.setenv("STUDYGROUP_ENV", "development")
    config = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}
    monkeypatch.setenv("STUDYGROUP_INSTANCE_PATH", str(tmp_path))
    first = create_app(config)
    second = create_app(config)
    assert len(first.config["SECRET_KEY"]) >= 40
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("STUDYGROUP_SECRET_KEY", raising=False)
    monkeypatch.setenv("STUDYGROUP_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("STUDYGROUP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db.example/studygroup")
    monkeypatch.setenv("STUDYGROUP_SERIES_MAX_SESSIONS", "12")
    monkeypatch.setenv("STUDYGROUP_PUBLIC_BASE_URL", "https://studygroup.example")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert app.config["SERIES_MAX_SESSIONS"] == 12
    assert app.config["DATABASE_PING_AFTER_IDLE_SECONDS"] > 0
    assert app.config["MAX_CONTENT_LENGTH"]


def test_create_app_touches_no_database(monkeypatch):
    """Workers must boot while the database is down: the factory opens no connection."""
    monkeypatch.setenv("SECRET_KEY", "x")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/x",
            "PUBLIC_BASE_URL": "https://sg.example",
        }
    )
    assert app.test_client().get("/healthz").status_code == 200


def test_unknown_environment_names_are_refused(monkeypatch):
    monkeypatch.setenv("STUDYGROUP_ENV", "prod")
    monkeypatch.setenv("SECRET_KEY", "x")
    with pytest.raises(RuntimeError, match="production, development or testing"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_demo_refuses_production_without_force(app_factory):
    app = app_factory(ENV_NAME="production", PUBLIC_BASE_URL="https://sg.example")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert "not added in production" in result.output


def test_start_up_variables_are_not_settings(tmp_path, monkeypatch):
    """STUDYGROUP_ENV and STUDYGROUP_INSTANCE_PATH choose how the app starts: they do not
    become ENV and INSTANCE_PATH in app.config, while other STUDYGROUP_* variables are read."""
    monkeypatch.setenv("STUDYGROUP_ENV", "development")
    monkeypatch.setenv("STUDYGROUP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STUDYGROUP_CALENDAR_MAX_AGE", "60")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ENV_NAME"] == "development"
    assert app.instance_path == str(tmp_path)
    assert "ENV" not in app.config and "INSTANCE_PATH" not in app.config
    assert app.config["CALENDAR_MAX_AGE"] == 60


def test_the_old_name_of_the_default_reader_locale_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYGROUP_ENV", "development")
    monkeypatch.setenv("STUDYGROUP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STUDYGROUP_MAIL_DEFAULT_LOCALE", "en")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["DEFAULT_READER_LOCALE"] == "en"
    assert "MAIL_DEFAULT_LOCALE" not in app.config
    monkeypatch.setenv("STUDYGROUP_MAIL_DEFAULT_LOCALE", "ja")
    monkeypatch.setenv("STUDYGROUP_DEFAULT_READER_LOCALE", "en")  # the new name wins
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["DEFAULT_READER_LOCALE"] == "en"
