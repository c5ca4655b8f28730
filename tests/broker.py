"""An unreachable broker, for real: the Celery app's producer pointed at a local TCP port that
nothing listens on, so a send meets a refused connection as it would with Redis down."""

import socket
from contextlib import contextmanager

from emolab.celery import app


def closed_port() -> int:
    """A local TCP port with nothing listening on it (bound by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def broker_at(url: str):
    """Point the Celery app's producer at another broker for the block (configuration only: the
    sends open their own connection from ``broker_write_url`` each time; the environment's
    CELERY_BROKER_URL would win over ``broker_url``)."""
    saved = app.conf.get("broker_write_url"), app.conf.broker_transport_options
    app.conf.broker_write_url = url
    app.conf.broker_transport_options = {"socket_connect_timeout": 3}
    try:
        yield
    finally:
        app.conf.broker_write_url, app.conf.broker_transport_options = saved


@contextmanager
def broker_down():
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        yield
