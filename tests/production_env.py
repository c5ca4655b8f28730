"""The environment of a production start (DEBUG off, a real secret key), for tests that run the
settings, `manage.py check --deploy` or gunicorn in a fresh process."""

import os
import secrets
from pathlib import Path

# Variables these tests set themselves: whatever the developer's shell has is left out.
_PROJECT_VARIABLES = (
    "SECURE_", "CSP_", "HTTPS", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "GUNICORN_",
    "EMOLAB_THROTTLE", "EMOLAB_LOGIN", "EMOLAB_PROXY_COUNT", "CACHE_URL", "REDIS_URL",
)  # fmt: skip


def production_environment(tmp_path: Path, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PROJECT_VARIABLES)}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,emolab.example.org",
            "EMOLAB_VAR_DIR": str(tmp_path / "var"),
            # Its own database file: a production start must never touch the developer's or CI's database.
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "emolab.settings",
            **extra,
        }
    )
    return env
