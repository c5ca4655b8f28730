"""Demo accounts: one admin, one researcher, two assessors, with generated passwords."""

import json
import secrets
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.db import transaction

from emolab.roles import ASSESSOR_GROUP, RESEARCHER_GROUP

DEMO_ACCOUNTS = (
    ("admin", "admin"),
    ("researcher", RESEARCHER_GROUP),
    ("assessor1", ASSESSOR_GROUP),
    ("assessor2", ASSESSOR_GROUP),
)


@transaction.atomic
def demo_accounts_ensure(*, password_file: Path) -> list[tuple[str, str, str]]:
    """Create the demo accounts that are missing; return (username, role, password) for each.

    Passwords are generated once and kept in ``password_file`` (mode 600) so a second
    `make demo` prints the same ones.
    """
    stored = json.loads(password_file.read_text()) if password_file.exists() else {}
    accounts = []
    for username, role in DEMO_ACCOUNTS:
        password = stored.get(username) or secrets.token_urlsafe(9)
        user, created = User.objects.get_or_create(username=username)
        if created or username not in stored:
            user.set_password(password)
        user.is_staff = user.is_superuser = role == "admin"
        user.save()
        if role != "admin":
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        stored[username] = password
        accounts.append((username, role, password))
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.write_text(json.dumps(stored, indent=2))
    password_file.chmod(0o600)
    return accounts
