"""`make demo`'s last step: the web server and one Celery worker together; Ctrl-C stops both.

The worker also runs Celery beat (``-B``: one process is enough on one machine), which starts the
jobs' watchdog every EMOLAB_WATCHDOG_INTERVAL_S (docs/reliability.md)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def _stop_on_signal(signum, frame):
    # `kill` or a closed terminal must stop the children too, not orphan them.
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    if not _port_free(host, port):
        print(f"Port {port} on {host} is in use. Stop what runs there or choose another: PORT=8001 make demo")
        return 1
    python = sys.executable
    worker = subprocess.Popen(
        [
            python,
            "-m",
            "celery",
            "-A",
            "emolab",
            "worker",
            "--beat",
            "--loglevel=INFO",
            "--concurrency=1",
            "-n",
            "demo@%h",
        ],
        cwd=ROOT,
    )
    web = subprocess.Popen([python, "manage.py", "runserver", f"{host}:{port}", "--noreload"], cwd=ROOT)
    print(f"\nemolab is running at http://{host}:{port}/  (API docs: /api/docs/, admin: /admin/)")
    print("Press Ctrl-C to stop the web server and the worker.\n", flush=True)
    children = (web, worker)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [child for child in children if child.returncode not in (0, -signal.SIGTERM, -signal.SIGINT, None)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
