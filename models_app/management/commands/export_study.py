"""``python manage.py export_study [--campaign N] [--job M] OUT.zip``: the whole study in one archive."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Campaign
from emolab.errors import DOMAIN_ERRORS
from models_app.models import TrainingJob
from models_app.services.study_export import StudyExportError, study_export


class Command(BaseCommand):
    help = (
        "Write a campaign's judgments, the corpus's expert votes, a job's predictions and models, the comparison "
        "report's JSON, tables and figures, and a README listing them, into one zip."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, metavar="OUT.zip")
        parser.add_argument("--campaign", type=int, help="relabelling campaign id")
        parser.add_argument("--job", type=int, help="training job id")
        parser.add_argument("--seed", type=int, default=0, help="seed of the report's bootstrap intervals")

    def handle(self, *args, out: Path, campaign: int | None, job: int | None, seed: int, **options):
        campaign_row = job_row = None
        if campaign is not None:
            campaign_row = Campaign.objects.select_related("corpus").filter(pk=campaign).first()
            if campaign_row is None:
                raise CommandError(f"there is no campaign {campaign}")
        if job is not None:
            job_row = TrainingJob.objects.select_related("corpus").filter(pk=job).first()
            if job_row is None:
                raise CommandError(f"there is no training job {job}")
        try:
            contents = study_export(out=out, campaign=campaign_row, job=job_row, seed=seed)
        except (StudyExportError, *DOMAIN_ERRORS) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Wrote {out}:")
        for path, what in contents.entries:
            self.stdout.write(f"  {path}: {what}")
