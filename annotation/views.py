from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from annotation.selectors.corpora import corpus_summaries
from emolab.roles import is_researcher


@login_required
def home(request):
    # Assessors see their labelling work only; corpus contents (with labels) are for researchers.
    summaries = corpus_summaries() if is_researcher(request.user) else []
    return render(request, "home.html", {"summaries": summaries})
