"""Email: an outbox in the database, sent over real SMTP after the change commits."""
