"""Real servers on loopback for the tests: a free port, and an SMTP inbox (aiosmtpd) that keeps
what it receives."""

import socket
from email import message_from_bytes
from email.header import decode_header, make_header


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: every message it accepts, parsed, in `messages`."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def subject(message) -> str:
    """The subject as the recipient reads it (decoded from its RFC 2047 encoding, unfolded)."""
    return " ".join(str(make_header(decode_header(message["Subject"]))).split())
