"""The channels behind the `Sender` interface: e-mail over SMTP, an SMS gateway over HTTP, and
the log (development)."""

import json
import logging
import smtplib
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger("vdsi.notifications")


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


@dataclass(frozen=True)
class SmsGatewaySender:
    """POSTs `{"to": "+33…", "text": "…"}` with the key as a bearer token; any 2xx is sent."""

    url: str
    key: str
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str) -> None:
        payload = json.dumps({"to": address, "text": f"{subject}\n{body}"[:640]}).encode()
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's setting)
            self.url,
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise RuntimeError(f"passerelle SMS : statut {response.status}")


class ConsoleSender:
    def send(self, address: str, subject: str, body: str) -> None:
        log.warning("Notification (console) à %s : %s\n%s", address, subject, body)
