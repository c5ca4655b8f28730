from django.apps import AppConfig


class ModelsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "models_app"
    verbose_name = "Features, methods, training jobs and reports"

    def ready(self) -> None:
        from models_app import signals  # the models must be loaded first

        signals.connect()
