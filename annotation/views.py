from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from annotation.audio import assessor_audio_folder, audio_response, file_inside, plain_wav
from annotation.forms import CampaignForm, CorpusImportForm
from annotation.instructions import render_instructions
from annotation.models import Campaign, CampaignItem, Corpus, CorpusImport, Judgment
from annotation.selectors.campaigns import (
    assessor_progress,
    assessor_state,
    campaign_audio_allowed,
    campaign_overview,
    campaign_user_can_label,
    campaigns_visible_to,
    instructions_confirmed,
    labelling_rows,
)
from annotation.selectors.corpora import corpus_summaries
from annotation.selectors.exports import campaign_answer_counts
from annotation.services.campaigns import CampaignSetupError, campaign_create, campaign_set_open
from annotation.services.corpus_imports import (
    ImportConflict,
    ImportRequestError,
    corpus_import_cancel,
    corpus_import_request,
)
from annotation.services.instructions import instructions_confirm
from emolab.authentication import login_or_token_required
from emolab.roles import is_assessor, is_researcher, researcher_required


@login_required
def home(request):
    # Assessors see their labelling work only; corpus contents (with labels) are for researchers.
    summaries = corpus_summaries() if is_researcher(request.user) else []
    my_campaigns = labelling_rows(user=request.user, now=timezone.now()) if is_assessor(request.user) else []
    return render(request, "home.html", {"summaries": summaries, "my_campaigns": my_campaigns})


@login_required
def campaign_list(request):
    now = timezone.now()
    context = {"my_campaigns": labelling_rows(user=request.user, now=now), "overviews": []}
    if is_researcher(request.user):
        context["overviews"] = [
            campaign_overview(campaign=campaign, now=now) for campaign in campaigns_visible_to(user=request.user)
        ]
    return render(request, "annotation/campaign_list.html", context)


@researcher_required
def campaign_new(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaign_create(
                corpus=data["corpus"],
                name=data["name"],
                created_by=request.user,
                classes=data["classes"],
                judgments_per_item=data["judgments_per_item"],
                feedback=data["feedback"],
                items_per_assessor=data["items_per_assessor"],
                replay_limit=data["replay_limit"],
                gold_share=data["gold_share"],
                warmup_per_class=data["warmup_per_class"],
                warmup_utterances=data["warmup_utterances"],
                assessors=[user.username for user in data["assessors"]],
                exclude_seen_elsewhere=data["exclude_seen_elsewhere"],
                instructions=data["instructions"],
                class_definitions=data["class_definitions"],
                allow_cant_tell=data["allow_cant_tell"],
                min_listen_fraction=data["min_listen_fraction"],
                break_every=data["break_every"],
            )
        except CampaignSetupError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Campaign {campaign.name!r} created.")
            return redirect("annotation:campaign_detail", campaign_id=campaign.pk)
    corpora = Corpus.objects.only("name", "classes")
    return render(request, "annotation/campaign_form.html", {"form": form, "corpora": corpora})


@researcher_required
def campaign_detail(request, campaign_id: int):
    campaign = get_object_or_404(Campaign.objects.select_related("corpus", "created_by"), pk=campaign_id)
    overview = campaign_overview(campaign=campaign, now=timezone.now())
    named = sorted(user.username for user in campaign.assessors.all())
    context = {
        "overview": overview,
        "campaign": campaign,
        "named": named,
        "answers": campaign_answer_counts(campaign=campaign),
    }
    return render(request, "annotation/campaign_detail.html", context)


@require_POST
@researcher_required
def campaign_toggle_open(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    wanted = request.POST.get("is_open") == "1"
    campaign_set_open(campaign=campaign, is_open=wanted)
    messages.success(request, f"Campaign {campaign.name!r} is now {'open' if wanted else 'closed'}.")
    return redirect("annotation:campaign_detail", campaign_id=campaign.pk)


def _labelling_campaign(request, campaign_id: int) -> Campaign:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if not campaign_user_can_label(campaign=campaign, user=request.user):
        _refuse_outsider(request.user, "You are not an assessor of this campaign.")
    return campaign


def _refuse_outsider(user, message: str):
    """Researchers see every campaign, so they are told why (403); anyone else cannot tell a
    campaign they are not part of from one that does not exist (404)."""
    if is_researcher(user):
        raise PermissionDenied(message)
    raise Http404(f"No {Campaign._meta.object_name} matches the given query.")


@require_http_methods(["GET", "POST"])
@login_required
def instructions(request, campaign_id: int):
    """The campaign's instructions: shown before the warm-up (the trial page sends a new assessor
    here), confirmed once with a POST, and reachable from the trial page afterwards."""
    campaign = _labelling_campaign(request, campaign_id)
    if request.method == "POST":
        instructions_confirm(campaign=campaign, assessor=request.user)
        return redirect("annotation:trial", campaign_id=campaign.pk)
    classes = [(label, campaign.class_definitions.get(label, "")) for label in campaign.classes]
    context = {
        "campaign": campaign,
        "instructions_html": render_instructions(campaign.instructions),
        "classes": classes,
        "confirmed": instructions_confirmed(campaign=campaign, user=request.user),
        "listen_percent": round(100 * campaign.min_listen_fraction),
    }
    return render(request, "annotation/instructions.html", context)


@login_required
def trial(request, campaign_id: int):
    """The labelling page. It carries no item: the script asks the API for one, so the page is the
    same whatever the next utterance is (nothing in it can give an answer away)."""
    campaign = _labelling_campaign(request, campaign_id)
    if not campaign.is_open:
        return render(request, "annotation/trial_finished.html", _finished_context(request, campaign))
    if not instructions_confirmed(campaign=campaign, user=request.user):
        return redirect("annotation:instructions", campaign_id=campaign.pk)
    config = {
        "classes": campaign.classes,
        "replayLimit": campaign.replay_limit,
        "nextUrl": reverse("api-campaign-next", args=[campaign.pk]),
        "answerUrl": reverse("api-campaign-answers", args=[campaign.pk]),
        "finishedUrl": reverse("annotation:trial_finished", args=[campaign.pk]),
        # The item's id replaces the placeholder (the page carries no item id).
        "changeUrl": reverse("api-campaign-answer-change", args=[campaign.pk, "00000000-0000-0000-0000-000000000000"]),
        "allowCantTell": campaign.allow_cant_tell,
        "minListenFraction": campaign.min_listen_fraction,
        "breakEvery": campaign.break_every,
        "feedback": campaign.feedback,
    }
    buttons = [(index + 1, label) for index, label in enumerate(campaign.classes)]
    return render(request, "annotation/trial.html", {"campaign": campaign, "config": config, "buttons": buttons})


def _finished_context(request, campaign: Campaign) -> dict:
    state = assessor_state(campaign=campaign, assessor=request.user, now=timezone.now())
    # Gold answers pass as counted ones here too: the assessor is told nothing about hidden items.
    counted = Judgment.objects.filter(campaign=campaign, assessor=request.user).exclude(phase=CampaignItem.Role.WARMUP)
    context = {"campaign": campaign, "state": state, "n_scored": counted.count(), "n_warmup": state.warmup_done}
    context["n_cant_tell"] = counted.exclude(answer__in=campaign.classes).count() if campaign.allow_cant_tell else 0
    if campaign.feedback and context["n_scored"] > context["n_cant_tell"]:
        # They saw the expert label after each answer already, so their score gives nothing away.
        # "Can't tell" answers are neither right nor wrong: left out of the count.
        context["n_scored_correct"] = counted.filter(is_correct=True).count()
        context["n_labelled"] = context["n_scored"] - context["n_cant_tell"]
    return context


@login_required
def my_progress(request, campaign_id: int):
    """The assessor's own view of a campaign: answered, remaining and, with feedback, agreement so far."""
    campaign = _labelling_campaign(request, campaign_id)
    progress = assessor_progress(campaign=campaign, assessor=request.user)
    agreement_percent = None if progress.agreement is None else round(100 * progress.agreement, 1)
    context = {"campaign": campaign, "progress": progress, "agreement_percent": agreement_percent}
    return render(request, "annotation/my_progress.html", context)


@login_required
def trial_finished(request, campaign_id: int):
    campaign = _labelling_campaign(request, campaign_id)
    return render(request, "annotation/trial_finished.html", _finished_context(request, campaign))


@login_or_token_required  # the API hands its clients this URL (audio_url of GET .../next/)
def item_audio(request, campaign_id: int, item_id):
    campaign = get_object_or_404(Campaign.objects.select_related("corpus"), pk=campaign_id)
    if not is_researcher(request.user) and not campaign_user_can_label(campaign=campaign, user=request.user):
        _refuse_outsider(request.user, "This item is not yours to hear.")
    item = get_object_or_404(CampaignItem.objects.select_related("utterance"), campaign=campaign, public_id=item_id)
    if not campaign_audio_allowed(campaign=campaign, item=item, user=request.user):
        raise PermissionDenied("This item is not yours to hear.")
    # Re-encoded: whatever the corpus file carries besides samples (tags, names) stays on the server.
    path = plain_wav(file_inside(campaign.corpus.root, item.utterance.audio_path), assessor_audio_folder())
    return audio_response(path=path, range_header=request.headers.get("Range"), download_name="item.wav")


@researcher_required
def corpus_new(request):
    """The New corpus page: upload an archive (or name a server folder) and start the import."""
    form = CorpusImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = corpus_import_request(
                user=request.user,
                name=data["name"],
                format=data["format"],
                upload=data["archive"],
                folder=data["folder"],
                manifest=data["manifest"],
            )
        except ImportRequestError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            return redirect("annotation:corpus_import", import_id=job.pk)
    recent = CorpusImport.objects.select_related("corpus", "created_by")[:20]
    context = {"form": form, "recent": recent, "folders_allowed": bool(settings.EMOLAB_IMPORT_ROOTS)}
    return render(request, "annotation/corpus_new.html", context, status=400 if form.errors else 200)


@researcher_required
def corpus_import(request, import_id: int):
    job = get_object_or_404(CorpusImport.objects.select_related("corpus", "created_by"), pk=import_id)
    return render(request, "annotation/corpus_import.html", {"job": job})


@require_POST
@researcher_required
def corpus_import_stop(request, import_id: int):
    job = get_object_or_404(CorpusImport, pk=import_id)
    try:
        corpus_import_cancel(corpus_import=job)
        messages.success(request, f"Import {job.pk} cancelled: nothing of it is kept.")
    except ImportConflict as exc:
        messages.error(request, str(exc))
    return redirect("annotation:corpus_import", import_id=job.pk)
