"""The emotion timeline pages: /timeline/ (upload a recording, choose a job's CTC model) and
/timeline/<id>/ (its progress while a worker draws it, then the segments over the waveform).
Researchers and admins only; a prediction is its owner's alone (404 for anyone else). The web
process checks the header and stores the upload; a Celery worker decodes it (services/predictions.py)."""

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe

from emolab.errors import DOMAIN_ERRORS, render_domain_error
from emolab.roles import researcher_required
from models_app.models import Prediction
from models_app.selectors.predictions import UnknownPrediction, prediction_of_owner, recent_predictions_of_owner
from models_app.selectors.timeline import training_jobs_with_ctc_model
from models_app.ser.timeline_plot import colour_hex, emotion_colours
from models_app.services.predictions import prediction_create
from models_app.services.timeline import (
    RecordingTooLarge,
    predict_max_bytes,
    predict_max_seconds,
    recording_check_size,
)

TEMPLATE = "models_app/timeline/page.html"
RESULT_TEMPLATE = "models_app/timeline/prediction.html"


class TimelineForm(forms.Form):
    audio = forms.FileField(
        label="Recording",
        help_text="wav, flac or ogg; any sample rate; mono or stereo.",
        widget=forms.ClearableFileInput(attrs={"accept": ".wav,.flac,.ogg,.oga,audio/wav,audio/flac,audio/ogg"}),
    )
    job = forms.TypedChoiceField(label="Model", coerce=int, empty_value=None, required=False)

    def __init__(self, *args, jobs=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Latest job with a CTC model")]
        choices += [
            (
                job.pk,
                f"Job {job.pk}: {job.corpus.name}, preset {job.preset}, features {job.features}, "
                f"{job.created_at:%Y-%m-%d %H:%M}",
            )
            for job in jobs
        ]
        self.fields["job"].choices = choices


@researcher_required
def timeline_page(request):
    jobs = training_jobs_with_ctc_model()
    context = {
        "jobs": jobs,
        "max_megabytes": predict_max_bytes() / 1e6,
        "max_minutes": predict_max_seconds() / 60,
        "keep_hours": settings.EMOLAB_PREDICT_KEEP_HOURS,
        "recent": recent_predictions_of_owner(owner=request.user),
    }
    if request.method != "POST":
        # ?job=<id> (the job page's link) preselects that job's model when it has one.
        wanted = request.GET.get("job", "")
        initial = {"job": int(wanted)} if wanted.isascii() and wanted.isdigit() and len(wanted) < 19 else {}
        context["form"] = TimelineForm(jobs=jobs, initial=initial)
        return render(request, TEMPLATE, context)

    try:  # before the body is parsed into a temporary file
        recording_check_size(n_bytes=int(request.META.get("CONTENT_LENGTH") or 0))
    except RecordingTooLarge as exc:
        return render_domain_error(request, exc, TEMPLATE, {**context, "form": TimelineForm(jobs=jobs)})
    except ValueError:
        pass
    form = TimelineForm(request.POST, request.FILES, jobs=jobs)
    context["form"] = form
    if not form.is_valid():
        return render(request, TEMPLATE, context, status=400)
    try:
        prediction = prediction_create(
            owner=request.user, upload=form.cleaned_data["audio"], job_id=form.cleaned_data["job"]
        )
    except DOMAIN_ERRORS as exc:
        return render_domain_error(request, exc, TEMPLATE, context)
    # Post/redirect/get: the prediction's own page shows its progress, then its timeline.
    return redirect(reverse("models_app:timeline-prediction", args=[prediction.pk]), permanent=False)


@researcher_required
def timeline_prediction_page(request, pk: int):
    try:
        prediction = prediction_of_owner(owner=request.user, prediction_id=pk)
    except UnknownPrediction:
        raise Http404("No such timeline of yours.") from None
    context = {"prediction": prediction, "api_url": f"/api/predictions/{prediction.pk}/"}
    if prediction.status == Prediction.Status.SUCCEEDED and prediction.result:
        context.update(_result_context(prediction))
    return render(request, RESULT_TEMPLATE, context)


def _result_context(prediction: Prediction) -> dict:
    result = prediction.result
    colours = {name: colour_hex(colour) for name, colour in emotion_colours(result["classes"]).items()}
    return {
        "result": result,
        "segments": [
            {"segment": segment, "colour": colours[segment["emotion"]], "duration": segment["end"] - segment["start"]}
            for segment in result["segments"]
        ],
        "legend": list(colours.items()),
        "n_scored": sum(result["scored"]),
        "n_frames": len(result["scored"]),
        # Drawn by the worker with our own matplotlib code: no user text is in it (the file name
        # stays in the HTML, escaped).
        "figure": mark_safe(prediction.figure_svg),
    }
