"""Sending e-mail: over SMTP, or to the log in development (MAIL_BACKEND=console)."""

import smtplib
from email.message import EmailMessage

from flask import current_app

from app.config import Settings


def send_email(settings: Settings, *, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if settings.mail_backend == "console":
        current_app.logger.warning("E-mail (console) à %s : %s\n%s", to, subject, body)
        return
    with smtplib.SMTP(settings.mail_server, settings.mail_port, timeout=10) as smtp:
        if settings.mail_starttls:
            smtp.starttls()
        if settings.mail_username:
            smtp.login(settings.mail_username, settings.mail_password)
        smtp.send_message(message)
