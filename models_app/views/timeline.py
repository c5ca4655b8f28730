"""The emotion timeline page (/timeline/): upload a recording, choose a job's CTC model, see the
segments over the waveform. Researchers and admins only. Nothing is stored: the result is drawn
in the response to the upload."""

from django import forms
from django.shortcuts import render
from django.utils.safestring import mark_safe

from emolab.errors import DOMAIN_ERRORS, render_domain_error
from emolab.roles import researcher_required
from models_app.selectors.timeline import training_jobs_with_ctc_model
from models_app.ser.timeline_plot import colour_hex, emotion_colours, timeline_svg
from models_app.services.timeline import (
    RecordingTooLarge,
    predict_max_bytes,
    predict_max_seconds,
    recording_check_size,
    recording_timeline,
)

TEMPLATE = "models_app/timeline/page.html"


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
            (job.pk, f"Job {job.pk}: {job.corpus.name}, preset {job.preset}, {job.created_at:%Y-%m-%d %H:%M}")
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
        result = recording_timeline(upload=form.cleaned_data["audio"], job_id=form.cleaned_data["job"])
    except DOMAIN_ERRORS as exc:
        return render_domain_error(request, exc, TEMPLATE, context)
    timeline = result.timeline
    colours = {name: colour_hex(colour) for name, colour in emotion_colours(timeline.classes).items()}
    context["result"] = result
    context["segments"] = [
        {"segment": segment, "colour": colours[segment.emotion], "duration": segment.end_s - segment.start_s}
        for segment in timeline.segments
    ]
    context["legend"] = list(colours.items())
    context["n_scored"] = int(timeline.scored.sum())
    # Our own matplotlib output: no user text goes into the figure (the file name stays in the HTML).
    context["figure"] = mark_safe(timeline_svg(timeline, result.envelope))
    return render(request, TEMPLATE, context)
