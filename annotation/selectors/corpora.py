"""Reads about corpora for pages and reports."""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count

from annotation.models import Corpus, Utterance


class UnknownCorpus(LookupError):
    """No corpus of that name; the message lists the corpora there are."""


def corpus_named(*, name: str) -> Corpus:
    """The corpus called ``name`` (commands and scripts name corpora on the command line)."""
    corpus = Corpus.objects.filter(name=name).first()
    if corpus is None:
        known = ", ".join(Corpus.objects.order_by("name").values_list("name", flat=True)) or "none imported yet"
        raise UnknownCorpus(f"no corpus named {name!r} (corpora: {known}); import or build it first")
    return corpus


@dataclass
class CorpusSummary:
    corpus: Corpus
    n_utterances: int
    n_labelled_in_class_set: int
    n_no_consensus: int
    class_counts: list[tuple[str, int]]  # in the corpus's class order, then other labels
    speaker_counts: list[tuple[str, int]]
    session_counts: list[tuple[str, int]]


def corpus_summaries() -> list[CorpusSummary]:
    summaries = []
    for corpus in Corpus.objects.all():
        summaries.append(corpus_summary(corpus=corpus))
    return summaries


def corpus_summary(*, corpus: Corpus) -> CorpusSummary:
    utterances = Utterance.objects.filter(corpus=corpus)
    label_counts = Counter(dict(utterances.values_list("label").annotate(n=Count("id"))))
    in_set = [(label, label_counts.get(label, 0)) for label in corpus.classes]
    others = sorted(
        ((label or "(no consensus)", n) for label, n in label_counts.items() if label not in corpus.classes),
        key=lambda item: -item[1],
    )
    speakers = list(utterances.values_list("speaker__code").annotate(n=Count("id")).order_by("speaker__code"))
    sessions = list(utterances.values_list("session__code").annotate(n=Count("id")).order_by("session__code"))
    return CorpusSummary(
        corpus=corpus,
        n_utterances=sum(label_counts.values()),
        n_labelled_in_class_set=sum(n for _, n in in_set),
        n_no_consensus=label_counts.get("", 0),
        class_counts=in_set + others,
        speaker_counts=speakers,
        session_counts=sessions,
    )


def experiment_utterances(*, corpus: Corpus):
    """Utterances that take part in experiments: labelled with a class of the corpus's class set."""
    return Utterance.objects.filter(corpus=corpus, label__in=corpus.classes).select_related("speaker", "session")
