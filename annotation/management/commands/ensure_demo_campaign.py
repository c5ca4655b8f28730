"""`make demo`: an open relabelling campaign on the demo corpus, for every assessor."""

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Campaign, CampaignItem
from annotation.selectors.corpora import UnknownCorpus, corpus_named
from annotation.services.campaigns import CampaignSetupError, campaign_create

DEMO_CAMPAIGN_NAME = "Demo relabelling"


class Command(BaseCommand):
    help = (
        "Create, if absent, an open relabelling campaign on a corpus (feedback on, 2 judgments per "
        "utterance, open to every member of the assessor group) and print what was done."
    )

    def add_arguments(self, parser):
        parser.add_argument("--corpus", default="demo", help="Corpus name (default: demo).")
        parser.add_argument(
            "--name", default=DEMO_CAMPAIGN_NAME, help=f"Campaign name (default: {DEMO_CAMPAIGN_NAME!r})."
        )

    def handle(self, *args, corpus: str, name: str, **options):
        try:
            corpus_row = corpus_named(name=corpus)
        except UnknownCorpus as exc:
            raise CommandError(str(exc)) from None
        campaign = Campaign.objects.filter(corpus=corpus_row, name=name).first()
        if campaign is not None:
            self.stdout.write(f"Campaign {name!r} on {corpus} exists already (id {campaign.pk}); nothing changed.")
        else:
            try:
                campaign = campaign_create(
                    corpus=corpus_row, name=name, created_by=None, judgments_per_item=2, feedback=True
                )
            except CampaignSetupError as exc:
                raise CommandError(f"cannot create the campaign on {corpus}: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(f"Created campaign {name!r} on {corpus} (id {campaign.pk})."))
        counts = {role: campaign.items.filter(role=role).count() for role in CampaignItem.Role.values}
        self.stdout.write(
            f"  {'open' if campaign.is_open else 'closed'}; classes {', '.join(campaign.classes)}; "
            f"{counts['warmup']} warm-up, {counts['gold']} gold, {counts['main']} scored items; "
            f"{campaign.judgments_per_item} judgments per utterance; feedback {'on' if campaign.feedback else 'off'}; "
            + (
                "assessors: " + ", ".join(u.username for u in campaign.assessors.all())
                if campaign.assessors.exists()
                else "open to every assessor"
            )
        )
        for note in campaign.setup_notes:
            self.stdout.write(f"  note: {note}")
