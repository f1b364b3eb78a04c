"""Sending e-mail: over SMTP, or to the log in development (MAIL_BACKEND=console)."""

from flask import current_app

from app.config import Settings
from registry.notifications.channels import SmtpSender


def smtp_sender(settings: Settings) -> SmtpSender:
    return SmtpSender(
        settings.mail_server,
        settings.mail_port,
        settings.mail_from,
        settings.mail_username,
        settings.mail_password,
        settings.mail_starttls,
    )


def send_email(settings: Settings, *, to: str, subject: str, body: str) -> None:
    if settings.mail_backend == "console":
        current_app.logger.warning("E-mail (console) à %s : %s\n%s", to, subject, body)
        return
    smtp_sender(settings).send(to, subject, body)
