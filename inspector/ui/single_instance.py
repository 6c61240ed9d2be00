"""One running app per user: a second launch hands its files to the first and exits.

The first instance listens on a QLocalServer; a later one connects, sends the absolute paths
as one JSON line and quits. A stale socket left by a crashed instance is removed.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

CONNECT_TIMEOUT_MS = 500
#: Names a separate "instance family" (tests, a second installed version) so that its
#: launches talk to each other and never to the user's running window.
INSTANCE_ENV = "MODEL_INSPECTOR_INSTANCE"


def server_name(suffix: str = "") -> str:
    """The per-user socket name; `suffix` or $MODEL_INSPECTOR_INSTANCE keeps families apart."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name: still one socket per machine
        user = "user"
    family = os.environ.get(INSTANCE_ENV, "")
    # Socket names become file names in /tmp on Unix: keep them to safe characters.
    tag = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{family}{suffix}")
    return f"model-inspector-{user}" + (f"-{tag}" if tag else "")


def send_to_running(paths: list[str], name: str | None = None) -> bool:
    """Hand `paths` to a running instance; True if one took them."""
    sock = QLocalSocket()
    sock.connectToServer(name or server_name())
    if not sock.waitForConnected(CONNECT_TIMEOUT_MS):
        return False
    payload = json.dumps([str(Path(p).resolve()) for p in paths]).encode() + b"\n"
    sock.write(payload)
    ok = sock.waitForBytesWritten(CONNECT_TIMEOUT_MS)
    sock.disconnectFromServer()
    return ok


class InstanceServer(QObject):
    """Listens for files sent by later launches: `files_received(list[str])`."""

    files_received = Signal(list)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        """Start listening; removes a stale socket first. False if another instance listens."""
        if self.server.listen(self.name):
            return True
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(CONNECT_TIMEOUT_MS):
            probe.disconnectFromServer()
            return False
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def close(self) -> None:
        """Stop listening."""
        self.server.close()

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)

    def _read(self, sock: QLocalSocket) -> None:
        if not sock.canReadLine():
            return
        line = bytes(sock.readLine().data())
        try:
            paths = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(paths, list):
            self.files_received.emit([str(p) for p in paths if isinstance(p, str)])
