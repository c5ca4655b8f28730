"""An assessor confirms having read a campaign's instructions: the one writer of
InstructionsConfirmation rows. The trial page waits for it; the confirmation is asked once."""

from datetime import datetime

from django.utils import timezone

from annotation.models import Campaign, InstructionsConfirmation
from annotation.selectors.campaigns import campaign_labelling_access
from annotation.services.judgments import NoAccess


def instructions_confirm(*, campaign: Campaign, assessor, now: datetime | None = None) -> InstructionsConfirmation:
    """Record that ``assessor`` read the instructions (idempotent: the first time is kept).
    Raises NoAccess for a user who may not label in the campaign."""
    now = now or timezone.now()
    if not campaign_labelling_access(campaign=campaign, user=assessor, now=now).can_label:
        raise NoAccess("you are not an assessor of this campaign")
    confirmation, _ = InstructionsConfirmation.objects.get_or_create(
        campaign=campaign, assessor=assessor, defaults={"confirmed_at": now}
    )
    return confirmation
