"""Sending one claimed outbox row over SMTP (or to the log with no MAIL_SERVER): the MIME
message, its QR alternative, and a connection reused across a batch."""

import contextlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

import sqlalchemy as sa
from flask import current_app
from markupsafe import escape

from studygroup.participants.codes import qr_png


class MailServerUnreachable(Exception):
    """Connecting, STARTTLS or logging in failed: no message can go now, so the run stops."""


def _email_of(message: sa.Row) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = formataddr((config["MAIL_SENDER_NAME"], config["MAIL_SENDER"]))
    email["To"] = message.to_address
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(domain=config["MAIL_SENDER"].split("@")[-1])
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    if message.qr_text:
        _add_qr_alternative(email, message.body, message.qr_text)
    return email


def _add_qr_alternative(email: EmailMessage, body: str, qr_text: str) -> None:
    """An HTML alternative of the text with the QR code of `qr_text` as an inline PNG (a cid
    image): email clients show no inline SVG. The text part stays first and says it all."""

    cid = make_msgid(domain="qr.studygroup")
    html = (
        '<!doctype html><html><body><pre style="font-family:inherit;white-space:pre-wrap">'
        f"{escape(body)}</pre>"
        f'<p><img src="cid:{cid[1:-1]}" alt="{escape(qr_text)}" width="200" height="200"></p>'
        "</body></html>"
    )
    email.add_alternative(html, subtype="html")
    email.get_payload()[1].add_related(
        qr_png(qr_text),
        maintype="image",
        subtype="png",
        cid=cid,
        disposition="inline",
        filename="qr.png",
    )


class Connection:
    """One SMTP connection with the app's MAIL_* settings, opened for the first message and
    reused for the next; after an error it is dropped and the next message opens a new one.
    With no MAIL_SERVER, messages are written to the log instead."""

    def __init__(self, config) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self._drop()

    def send(self, message: sa.Row) -> None:
        """Send a claimed message (a row of the outbox)."""
        if not self.config.get("MAIL_SERVER"):
            # The row's own text: building the MIME message only to read it back cost more
            # than the rest of the send.
            current_app.logger.info(
                "email (no MAIL_SERVER set, so not sent)",
                extra={
                    "fields": {
                        "to": message.to_address,
                        "subject": message.subject,
                        "body": message.body,
                    }
                },
            )
            return
        email = _email_of(message)
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused:
            try:  # the connection is fine; only this address was refused
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
            raise
        except Exception:
            self._drop()
            raise

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        timeout = config["MAIL_TIMEOUT"]
        try:
            if config["MAIL_USE_SSL"]:
                smtp = smtplib.SMTP_SSL(
                    config["MAIL_SERVER"],
                    config["MAIL_PORT"],
                    timeout=timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (smtplib.SMTPException, OSError) as error:
            raise MailServerUnreachable(str(error)) from error
        return smtp

    def _drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None
