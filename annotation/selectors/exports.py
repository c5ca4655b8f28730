"""The raw data of a study, as tables: every judgment of a campaign and every expert vote of a
corpus. Each table is its columns (one list, here) and a generator of rows read a chunk at a time
(emolab/streaming.py), so an export's memory does not grow with its length.

A new judgment column (an assessor's "can't tell", a changed answer) is one more ``Column`` in
``JUDGMENT_COLUMNS``: the CSV, the JSON Lines, the schema and docs/exports.md all follow from it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count

from annotation.models import Campaign, CampaignItem, Corpus, ExpertVote, Judgment, Utterance
from emolab.streaming import CHUNK_ROWS, Column, chunked

# How the phase of an answer is called in exports: "main" items are the scored ones.
PHASE_NAMES = {CampaignItem.Role.WARMUP: "warmup", CampaignItem.Role.MAIN: "scored", CampaignItem.Role.GOLD: "gold"}
# Formats whose label is the corpus's own annotation (IEMOCAP's header code, EmoDB's and RAVDESS's
# file-name codes); elsewhere it is the manifest's label column or the half-of-raters rule.
CORPUS_LABELLED_FORMATS = (Corpus.Format.IEMOCAP, Corpus.Format.EMODB, Corpus.Format.RAVDESS)


def assessor_pseudonym(user_id: int) -> str:
    """A stable id for an assessor that does not name them: the same in every export of this
    installation (answers can be joined across campaigns), not reversible without SECRET_KEY."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"assessor:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"A-{digest[:10]}"


def expert_votes_by_utterance(utterance_ids) -> dict[int, dict[str, list[str]]]:
    """{utterance id: {rater: categories}} of the expert votes (self-evaluations left out, as
    Utterance.n_raters leaves them out), in one query."""
    votes: dict[int, dict[str, list[str]]] = defaultdict(dict)
    rows = ExpertVote.objects.filter(utterance_id__in=utterance_ids, is_self_evaluation=False).order_by("rater")
    for utterance_id, rater, categories in rows.values_list("utterance_id", "rater", "categories"):
        votes[utterance_id][rater] = list(categories)
    return votes


# --- judgments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgmentRow:
    judgment: Judgment
    assessor: str
    votes: dict[str, list[str]]


JUDGMENT_COLUMNS: tuple[Column, ...] = (
    Column("campaign", "Campaign id.", lambda r: r.judgment.campaign_id),
    Column("campaign_name", "Campaign name.", lambda r: r.judgment.campaign.name),
    Column(
        "assessor",
        "Pseudonymous assessor id (`A-` and 10 hex digits), the same in every export of this site; "
        "the user name instead with `?identities=1` (admins only).",
        lambda r: r.assessor,
    ),
    Column("corpus", "Corpus name.", lambda r: r.judgment.utterance.corpus.name),
    Column("utterance", "Utterance name in its corpus (the corpus's own id).", lambda r: r.judgment.utterance.name),
    Column(
        "phase",
        "`warmup` (training example, expert label always shown), `scored` (counts in the statistics) "
        "or `gold` (hidden control item).",
        lambda r: PHASE_NAMES.get(r.judgment.phase, r.judgment.phase),
    ),
    Column(
        "position",
        "1 for the assessor's first answer in the campaign, 2 for the next, ...",
        lambda r: r.judgment.position,
    ),
    Column(
        "answer",
        'The emotion the assessor chose (the final one, if changed), or `cant_tell` for "can\'t tell".',
        lambda r: r.judgment.answer,
    ),
    Column(
        "cant_tell",
        'Whether the answer is "can\'t tell" (`true`/`false`): neither right nor wrong, leave it out of accuracies.',
        lambda r: r.judgment.is_cant_tell,
    ),
    Column(
        "expert_label",
        "The utterance's expert label when the answer was given ('' = no consensus).",
        lambda r: r.judgment.expert_label,
    ),
    Column(
        "expert_votes",
        "The expert votes now on record: a JSON object rater -> list of emotions (self-evaluations left out).",
        lambda r: r.votes,
    ),
    Column(
        "correct",
        'Whether the (final) answer equals the expert label (`true`/`false`); empty for "can\'t tell".',
        lambda r: None if r.judgment.is_cant_tell else r.judgment.is_correct,
    ),
    Column(
        "first_answer",
        "The assessor's first answer before any change ('' for answers recorded before changes were possible).",
        lambda r: r.judgment.first_answer,
    ),
    Column(
        "changed_at",
        "When the assessor changed the answer (ISO 8601, UTC); '' = never changed.",
        lambda r: r.judgment.changed_at.isoformat() if r.judgment.changed_at else "",
    ),
    Column("response_ms", "Milliseconds from the first play to the (first) answer.", lambda r: r.judgment.response_ms),
    Column(
        "played_fraction",
        "Share of the clip played before the answer (0-1); '' when the client did not report it.",
        lambda r: "" if r.judgment.played_fraction is None else r.judgment.played_fraction,
    ),
    Column("replays", "Plays after the first.", lambda r: r.judgment.replays),
    Column("label_shown", "Whether the expert label was shown after the answer.", lambda r: r.judgment.label_shown),
    Column("answered_at", "When the answer was recorded (ISO 8601, UTC).", lambda r: r.judgment.created_at.isoformat()),
)


def judgment_rows(
    *, campaign: Campaign, identities: bool = False, chunk_rows: int = CHUNK_ROWS
) -> Iterator[JudgmentRow]:
    """Every answer of the campaign, in the order they were recorded (warm-up and gold included:
    the ``phase`` column tells them apart)."""
    return judgment_rows_of(Judgment.objects.filter(campaign=campaign), identities=identities, chunk_rows=chunk_rows)


def judgment_rows_of(judgments, *, identities: bool = False, chunk_rows: int = CHUNK_ROWS) -> Iterator[JudgmentRow]:
    """The rows of any set of judgments (the admin's selection), in the order they were recorded."""
    judgments = judgments.select_related("campaign", "utterance__corpus")
    if identities:
        judgments = judgments.select_related("assessor")
    pseudonyms: dict[int, str] = {}
    for chunk in chunked(judgments, chunk_rows):
        votes = expert_votes_by_utterance({j.utterance_id for j in chunk})
        for judgment in chunk:
            if identities:
                assessor = judgment.assessor.username
            else:
                assessor = pseudonyms.get(judgment.assessor_id)
                if assessor is None:
                    assessor = pseudonyms[judgment.assessor_id] = assessor_pseudonym(judgment.assessor_id)
            yield JudgmentRow(judgment, assessor, votes.get(judgment.utterance_id, {}))
        del chunk, votes, judgment  # not alive while the next chunk is read


# --- expert votes -----------------------------------------------------------------------------------


def label_source(utterance: Utterance) -> str:
    """Where the utterance's label came from: ``corpus`` (the corpus's own annotation), ``given``
    (a manifest's label column), ``rule`` (half of the expert raters or more agree) or ``none``."""
    if not utterance.label:
        return "none"
    if utterance.corpus.format in CORPUS_LABELLED_FORMATS:
        return "corpus"
    if utterance.corpus.format == Corpus.Format.MANIFEST and utterance.source_label:
        return "given"
    return "rule"


VOTE_COLUMNS: tuple[Column, ...] = (
    Column("corpus", "Corpus name.", lambda v: v.utterance.corpus.name),
    Column("utterance", "Utterance name in its corpus.", lambda v: v.utterance.name),
    Column("speaker", "Speaker code.", lambda v: v.utterance.speaker.code),
    Column("session", "Session code (the cross-validation group).", lambda v: v.utterance.session.code),
    Column("rater", "The expert rater's code as the corpus gives it.", lambda v: v.rater),
    Column(
        "categories", "The emotions this rater chose: a JSON list (a rater may choose several).", lambda v: v.categories
    ),
    Column(
        "self_evaluation",
        "Whether the vote is the speaker's own (IEMOCAP); such votes do not count in the consensus.",
        lambda v: v.is_self_evaluation,
    ),
    Column(
        "label", "The utterance's label used by experiments and campaigns ('' = none).", lambda v: v.utterance.label
    ),
    Column(
        "label_source",
        "Where `label` came from: `corpus` (the corpus's own annotation: IEMOCAP header, EmoDB/RAVDESS file "
        "name), `given` (a manifest's label column), `rule` (the half-of-raters rule on the votes), `none`.",
        lambda v: label_source(v.utterance),
    ),
    Column(
        "rule_label",
        "What the half-of-raters rule gives from the expert votes ('' = no majority): a label counts when "
        "at least half of the expert raters chose it and no other emotion has as many votes.",
        lambda v: v.utterance.rule_label,
    ),
    Column("n_raters", "Expert raters of the utterance (self-evaluations left out).", lambda v: v.utterance.n_raters),
    Column(
        "n_dissenting",
        "Expert raters whose vote does not include `label` (empty when there is no label or no vote).",
        lambda v: v.utterance.n_dissenting,
    ),
)


def vote_rows(*, corpus: Corpus, chunk_rows: int = CHUNK_ROWS) -> Iterator[ExpertVote]:
    """Every expert vote of the corpus, self-evaluations included (the column says which)."""
    votes = ExpertVote.objects.filter(utterance__corpus=corpus).select_related(
        "utterance__corpus", "utterance__speaker", "utterance__session"
    )
    for chunk in chunked(votes, chunk_rows):
        yield from chunk
        del chunk  # not alive while the next chunk is read


@dataclass(frozen=True)
class AnswerCounts:
    """A campaign's answers by phase: ``total`` is the number of rows of its judgment export."""

    warmup: int
    scored: int
    gold: int

    @property
    def total(self) -> int:
        return self.warmup + self.scored + self.gold


def campaign_answer_counts(*, campaign: Campaign) -> AnswerCounts:
    counts = dict(Judgment.objects.filter(campaign=campaign).values_list("phase").annotate(n=Count("id")).order_by())
    return AnswerCounts(
        warmup=counts.get(CampaignItem.Role.WARMUP, 0),
        scored=counts.get(CampaignItem.Role.MAIN, 0),
        gold=counts.get(CampaignItem.Role.GOLD, 0),
    )
