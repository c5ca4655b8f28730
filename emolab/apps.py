from django.apps import AppConfig


class EmolabConfig(AppConfig):
    """The project package as an app: only for its migrations (the database cache's table)."""

    name = "emolab"
    verbose_name = "emolab"
