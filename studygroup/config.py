"""Defaults. `instance/config.py`, then `STUDYGROUP_*` environment variables override them."""

from datetime import timedelta

# The time zone of visitors, new accounts and new groups until they choose one (the config key
# DEFAULT_TIMEZONE; model and function defaults, the demo and tests use this constant).
DEFAULT_TIMEZONE = "Asia/Tokyo"


class DefaultConfig:
    # "production" unless told otherwise: `.flaskenv` makes the `flask` CLI a development tool.
    ENV_NAME = "production"
    # hide_parameters: a database error in the log never shows password hashes or tokens.
    SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
    # A pooled connection idle this long is pinged before use (a restarted database or a
    # dropped connection is then replaced, not an error page); one in steady use is not, which
    # pool_pre_ping would do on every request: a round trip, a quarter of a kept page's.
    DATABASE_PING_AFTER_IDLE_SECONDS = 5.0
    MAX_CONTENT_LENGTH = 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)

    WTF_CSRF_TIME_LIMIT = None  # a form left open over lunch still posts; the token is per session

    # Pages for a visitor whose language is not known (no setting, no Accept-Language we speak).
    BABEL_DEFAULT_LOCALE = "en"
    # What reaches a reader outside a page, emails and calendar feeds, when their language is
    # not known (no setting, no visit; a feed link's `?lang=` comes first).
    DEFAULT_READER_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = DEFAULT_TIMEZONE
    LANGUAGES = ("ja", "en")
    DEFAULT_TIMEZONE = DEFAULT_TIMEZONE

    # argon2id; OWASP minimum is m=19 MiB, t=2. Tests lower these.
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_COST = 64 * 1024  # KiB
    PASSWORD_HASH_PARALLELISM = 1

    # Login throttling, counted in the database so it holds across processes (OWASP's "slow
    # down online guessing with device cookies"; studygroup.auth.services.begin_attempt).
    LOGIN_THROTTLE_WINDOW = timedelta(minutes=15)
    # Browsers without a device cookie for the account: an address that failed this often in
    # the window waits until it has not...
    LOGIN_MAX_FAILURES_PER_ADDRESS = 50
    # ...and after this many attempts at one account, each next one waits twice as long as
    # the one before, from the first wait up to the longest (a slow-down, never a lock).
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_SLOWDOWN_FIRST_SECONDS = 15
    LOGIN_SLOWDOWN_MAX_SECONDS = 300
    # A browser that logged in to an account gets a signed device cookie for it, valid this
    # long; its logins to that account skip the limits above until it fails this often.
    LOGIN_DEVICE_COOKIE_DAYS = 365
    LOGIN_MAX_FAILURES_PER_DEVICE = 10
    # "Forgot your password?" asks from one network address within the window above (each
    # account also gets at most studygroup.auth.reset.RESET_EMAILS_PER_HOUR emails an hour).
    PASSWORD_RESET_MAX_PER_ADDRESS = 20

    # Behind a reverse proxy: how many proxies set X-Forwarded-* (0 = none trusted).
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0

    SERIES_MAX_SESSIONS = 60

    # The JSON API's rate limit per personal API token: this many requests in each fixed
    # window of this many seconds, counted in the database so it holds across workers
    # (studygroup.apitokens.limits).
    API_RATE_LIMIT = 600
    API_RATE_WINDOW_SECONDS = 60

    # The site's address for links in emails, feeds and pages, e.g. "https://studygroup.example".
    # Emails never take it from a request. Production needs it or TRUSTED_HOSTS.
    PUBLIC_BASE_URL = None
    # Host names this site answers to, e.g. ["studygroup.example"] (".example.org" takes every
    # subdomain); any other Host header gets 400. None: any host (development).
    TRUSTED_HOSTS = None

    # Calendar feeds. Feed tokens are derived with this key (default: SECRET_KEY); changing it
    # changes every calendar link, so members must subscribe again.
    CALENDAR_TOKEN_KEY = None
    # The domain in event UIDs (default: PUBLIC_BASE_URL's host). Set it once and keep it:
    # new UIDs would make every subscriber's events appear twice.
    CALENDAR_UID_DOMAIN = None
    # Built feeds kept in each process, by version.
    # Rendered pages kept per process (studygroup.pagecache); 0 turns the page cache off.
    PAGE_CACHE_MAX_BYTES = 8 * 1024 * 1024
    CALENDAR_CACHE_MAX_BYTES = 64 * 1024 * 1024
    # Seconds a process keeps what a feed URL resolved to (its owner and version) before it
    # asks the database again: polls are cheap, and an edit reaches them within this time.
    CALENDAR_VERSION_TTL = 1.0
    # Seconds a client or proxy may reuse a feed before asking again (with its ETag).
    CALENDAR_MAX_AGE = 300

    # Sharing cards (studygroup.sharing): a font file with Japanese glyphs (.ttf/.otf/.ttc);
    # None: fontconfig's Japanese sans-serif, then known paths (scripts/ensure-fonts).
    CARD_FONT = None
    # Seconds a crawler, chat app or proxy may reuse a card before asking again (with its ETag).
    CARD_MAX_AGE = 3600

    # Real SMTP. With no MAIL_SERVER (development) messages are written to the log instead.
    MAIL_SERVER = None
    MAIL_PORT = 587
    MAIL_USE_TLS = True  # STARTTLS
    MAIL_USE_SSL = False  # implicit TLS, usually port 465
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_SENDER = "noreply@studygroup.invalid"
    MAIL_SENDER_NAME = "studygroup"
    MAIL_TIMEOUT = 10
    # One `send-reminders` run sends for at most this many seconds (a little under the cron
    # interval, 15 minutes); what is left waits for the next run.
    MAIL_RUN_BUDGET_SECONDS = 840
    # Messages claimed together, sent over one SMTP connection.
    MAIL_BATCH_SIZE = 50
    # A run holds its batch this long and renews it every third of it while it sends. Keep it
    # well above the time one message can take (MAIL_TIMEOUT per SMTP step).
    MAIL_LEASE_SECONDS = 300

    # Outgoing webhooks (studygroup.webhooks). Seconds one POST may take, all told.
    WEBHOOK_TIMEOUT_SECONDS = 5
    # Tests switch this on to post to a server on 127.0.0.1; never in production (it would let
    # a webhook URL reach the server's own network).
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    # A sender holds a claimed delivery this long (well above one POST's time).
    WEBHOOK_LEASE_SECONDS = 60
    # A webhook whose deliveries failed for this many days is paused; its organizers are told.
    WEBHOOK_PAUSE_AFTER_DAYS = 3
    # One `send-webhooks` run (cron, every minute) posts for at most this many seconds.
    WEBHOOK_RUN_BUDGET_SECONDS = 50
