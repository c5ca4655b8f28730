"""Many judgments quickly (rows only, no audio): the streaming test and scripts/bench_export_memory.py."""

import tracemalloc

from django.contrib.auth.models import User
from django.utils import timezone

from annotation.models import Campaign, CampaignItem, Corpus, ExpertVote, Judgment, Session, Speaker, Utterance

CLASSES = ["anger", "neutral"]


def bulk_campaign(n_utterances: int, n_assessors: int, name: str = "bulk") -> Campaign:
    """A campaign whose every utterance was answered by every assessor: n_utterances x n_assessors
    judgments, three expert votes per utterance."""
    corpus = Corpus.objects.create(name=name, format="manifest", source_path="/nonexistent", classes=CLASSES)
    speaker = Speaker.objects.create(corpus=corpus, code="s1")
    session = Session.objects.create(corpus=corpus, code="s1")
    Utterance.objects.bulk_create(
        Utterance(
            corpus=corpus,
            name=f"u{i:06d}",
            speaker=speaker,
            session=session,
            audio_path=f"u{i:06d}.wav",
            audio_sha256="0" * 64,
            duration_s=1.0,
            sample_rate=16000,
            label=CLASSES[i % 2],
            rule_label=CLASSES[i % 2],
            n_raters=3,
            n_dissenting=0,
        )
        for i in range(n_utterances)
    )
    utterances = list(Utterance.objects.filter(corpus=corpus).order_by("pk"))
    ExpertVote.objects.bulk_create(
        (ExpertVote(utterance=u, rater=f"E{r}", categories=[u.label]) for u in utterances for r in range(3)),
        batch_size=5000,
    )
    campaign = Campaign.objects.create(corpus=corpus, name=name, classes=CLASSES)
    CampaignItem.objects.bulk_create(CampaignItem(campaign=campaign, utterance=u, role="main") for u in utterances)
    items = list(CampaignItem.objects.filter(campaign=campaign).select_related("utterance").order_by("pk"))
    users = User.objects.bulk_create(User(username=f"{name}-a{k}") for k in range(n_assessors))
    users = list(User.objects.filter(username__startswith=f"{name}-a").order_by("pk"))
    now = timezone.now()

    def judgments():
        for position, item in enumerate(items, start=1):
            for user in users:
                yield Judgment(
                    campaign=campaign,
                    item=item,
                    utterance=item.utterance,
                    assessor=user,
                    answer=CLASSES[position % 2],
                    phase="main",
                    expert_label=item.utterance.label,
                    is_correct=CLASSES[position % 2] == item.utterance.label,
                    response_ms=1000 + position,
                    position=position,
                    created_at=now,
                )

    batch = []
    for judgment in judgments():
        batch.append(judgment)
        if len(batch) == 5000:
            Judgment.objects.bulk_create(batch)
            batch = []
    Judgment.objects.bulk_create(batch)
    return campaign


def export_peak_memory(client, url: str) -> tuple[int, int, int]:
    """(peak bytes allocated while the export is produced and read, bytes sent, rows sent)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        n_bytes = n_lines = 0
        for piece in response.streaming_content:
            n_bytes += len(piece)
            n_lines += piece.count(b"\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, n_bytes, n_lines
