"""Real servers on loopback for the tests: a free port, an SMTP inbox (aiosmtpd) that keeps
what it receives, and a TCP proxy a test can cut, hold or stop."""

import contextlib
import socket
import threading
from email import message_from_bytes
from email.header import decode_header, make_header

import sqlalchemy as sa


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


class TcpProxy:
    """A TCP forwarder on loopback. Between the app and its database: stopped, it closes its
    listener and every connection through it (the database host gone); started again on the
    same port, the database is back. Between a client and the server: told to hold replies, it
    keeps what the server answers from then on, so the server has done the work and the client
    never hears of it (a reply lost with the server that was sending it). Told to cut at some
    bytes, it drops the one connection that sends them (a connection lost at that statement)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.hold_replies = threading.Event()
        self.reply_held = threading.Event()
        self.cut_at: bytes | None = None
        self.cut = threading.Event()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        with self.lock:
            sockets, self.connections = [self.listener, *self.connections], []
            self.listener = None
            threads, self.threads = self.threads, []
        for sock in filter(None, sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it
            sock.close()
        for thread in threads:
            thread.join(timeout=5)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self.threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()  # the server behind is down: so is this connection
                continue
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self.connections += [client, upstream]
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        holding = False
        try:
            while chunk := source.recv(65536):
                if not replies and self.cut_at is not None and self.cut_at in chunk:
                    self.cut_at = None
                    self.cut.set()
                    break
                if replies and self.hold_replies.is_set():
                    holding = True
                    self.reply_held.set()
                    continue
                sink.sendall(chunk)
        except OSError:
            pass
        if holding:
            return  # the client waits for its reply until the proxy stops
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def through(proxy: TcpProxy, database_url: str) -> str:
    """The database's URL through the proxy, in plain text (loopback) so it can see statements."""
    url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.update_query_dict({"sslmode": "disable"}).render_as_string(hide_password=False)
