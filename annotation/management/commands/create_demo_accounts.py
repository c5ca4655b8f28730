from django.conf import settings
from django.core.management.base import BaseCommand

from annotation.services.accounts import demo_accounts_ensure


class Command(BaseCommand):
    help = "Create the demo accounts (admin, researcher, two assessors) and print their passwords."

    def handle(self, *args, **options):
        password_file = settings.VAR_DIR / "demo-accounts.json"
        accounts = demo_accounts_ensure(password_file=password_file)
        self.stdout.write(f"Demo accounts (passwords kept in {password_file}):")
        for username, role, password in accounts:
            self.stdout.write(f"  {username:<11} {role:<11} password: {password}")
