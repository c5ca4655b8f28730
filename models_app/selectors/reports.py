"""Reads for the comparison report (issue 7): a training job and a relabelling campaign turned into
the records of the Django-free analysis (``models_app/ser/analysis``), and the report built from them.

Every input is read with a handful of ``values_list`` queries per report (no query per utterance).
Utterances are joined across the three inputs by their primary key.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Max, Q

from annotation.models import CANT_TELL, Campaign, CampaignItem, Corpus, ExpertVote, Judgment, Utterance
from models_app.models import StoredReport, TrainingJob, UtterancePrediction
from models_app.selectors.features import FeatureSetNotReady, UnknownUtterances, feature_frame_indices
from models_app.ser.analysis import HumanJudgment, Prediction, UtteranceRecord, build_comparison
from models_app.ser.analysis.inputs import DecodedSpan, row_label
from models_app.ser.progress import ProgressCallback, ignore_progress
from models_app.ser.registry import CTC_ROWS, ROW_NAMES

# A report is recomputed per CSV and SVG download; one minute of cache spares the bootstrap on a
# page with a dozen figures, and the key carries the data's fingerprint so new answers show at once.
REPORT_CACHE_SECONDS = 60
# Ids and seeds in a query string: a bigint at most (the widest id column).
_LARGEST_ID = 2**63 - 1
# The features' frame step and window when a job names no feature set (the paper: 100 and 200 ms).
DEFAULT_FRAME_STEP_S = 0.1
DEFAULT_WINDOW_S = 0.2


class ReportInputError(ValueError):
    """The chosen job and campaign cannot make one report (shown to the user as a 400)."""


def report_corpus(*, job: TrainingJob | None, campaign: Campaign | None) -> Corpus:
    """The corpus the report is about: the job's or the campaign's, which must be the same."""
    if job is None and campaign is None:
        raise ReportInputError("choose a training job, a campaign or both")
    if job is not None and campaign is not None and job.corpus_id != campaign.corpus_id:
        raise ReportInputError(
            f"training job {job.pk} is on corpus {job.corpus.name!r} but campaign {campaign.pk} is on corpus "
            f"{campaign.corpus.name!r}: a report compares answers on the same utterances"
        )
    return job.corpus if job is not None else campaign.corpus


def report_classes(*, job: TrainingJob | None, campaign: Campaign | None, corpus: Corpus) -> list[str]:
    """The class order of every matrix: the job's label map (its probabilities follow it), else the
    campaign's answer buttons, else the corpus's class set."""
    if job is not None and job.classes:
        return list(job.classes)
    if campaign is not None and campaign.classes:
        return list(campaign.classes)
    return list(corpus.classes)


def report_utterances(*, corpus: Corpus) -> list[UtteranceRecord]:
    """Every utterance of the corpus with its expert votes (self-evaluations left out)."""
    votes: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    vote_rows = (
        ExpertVote.objects.filter(utterance__corpus=corpus, is_self_evaluation=False)
        .order_by("utterance_id", "rater")
        .values_list("utterance_id", "categories")
    )
    for utterance_id, categories in vote_rows:
        votes[utterance_id].append(tuple(categories or ()))
    rows = (
        Utterance.objects.filter(corpus=corpus)
        .order_by("id")
        .values_list("id", "label", "speaker__code", "session__code")
    )
    return [
        UtteranceRecord(
            id=pk,
            label=label or None,
            speaker=speaker,
            session=session,
            expert_votes=tuple(votes.get(pk, ())),
        )
        for pk, label, speaker, session in rows
    ]


def report_predictions(*, job: TrainingJob) -> dict[str, list[Prediction]]:
    """The job's stored out-of-fold predictions per Table 1 row; an empty CTC decoding becomes None."""
    predictions: dict[str, list[Prediction]] = defaultdict(list)
    rows = (
        UtterancePrediction.objects.filter(job=job)
        .order_by("row", "utterance_id")
        .values_list("row", "utterance_id", "predicted_label", "fold", "probabilities")
    )
    for row, utterance_id, predicted, fold, probabilities in rows:
        predictions[row].append(
            Prediction(
                utterance_id=utterance_id,
                predicted=predicted or None,
                fold=fold,
                probabilities=tuple(probabilities) if probabilities else None,
            )
        )
    return dict(predictions)


def _campaign_answers(campaign: Campaign) -> tuple[list[HumanJudgment], dict]:
    """One read of the campaign's answers: those that name a class (for the analysis) and the scored
    answers' own columns beside the human row, "can't tell" answers (neither right nor wrong, left out
    of every accuracy) and answers changed by their assessor (counted with the final answer), in total
    and per assessor."""
    rows = (
        Judgment.objects.filter(campaign=campaign)
        .order_by("assessor__username", "position")
        .values_list("assessor__username", "utterance_id", "answer", "position", "phase", "response_ms", "changed_at")
    )
    judgments = []
    by_assessor: dict[str, dict] = {}
    for username, utterance_id, answer, position, phase, response_ms, changed_at in rows:
        if phase == CampaignItem.Role.MAIN:
            counts = by_assessor.setdefault(username, {"scored": 0, "cant_tell": 0, "changed": 0})
            counts["scored"] += 1
            counts["cant_tell"] += answer == CANT_TELL
            counts["changed"] += changed_at is not None
        if answer == CANT_TELL:
            continue
        judgments.append(
            HumanJudgment(
                assessor=username,
                utterance_id=utterance_id,
                answer=answer,
                answer_index=position,
                is_warmup=phase == CampaignItem.Role.WARMUP,
                is_gold=phase == CampaignItem.Role.GOLD,
                response_ms=response_ms,
            )
        )
    totals = {key: sum(row[key] for row in by_assessor.values()) for key in ("scored", "cant_tell", "changed")}
    return judgments, {**totals, "by_assessor": by_assessor}


def report_judgments(*, campaign: Campaign) -> list[HumanJudgment]:
    """Every answer of the campaign that names a class; its phase says whether it is a warm-up or a
    hidden gold answer (the analysis keeps both out of the pooled statistics). "Can't tell" answers
    are left out here and counted apart (``report_answer_counts``). A changed answer counts with its
    final value."""
    return _campaign_answers(campaign)[0]


def report_answer_counts(*, campaign: Campaign) -> dict:
    """The scored answers' "can't tell" and changed counts, in total and per assessor."""
    return _campaign_answers(campaign)[1]


def comparison_report(
    *,
    job: TrainingJob | None = None,
    campaign: Campaign | None = None,
    seed: int = 0,
    progress: ProgressCallback = ignore_progress,
) -> dict:
    """Every section of the comparison report (see docs/reports.md), plus ``job``, ``campaign`` and
    ``corpus`` naming what it was computed from. Raises ReportInputError for a job and campaign of
    different corpora, for neither, or for inputs the analysis refuses. ``progress`` hears each
    finished section (``ser/analysis/report.py``)."""
    corpus = report_corpus(job=job, campaign=campaign)
    classes = report_classes(job=job, campaign=campaign, corpus=corpus)
    predictions = report_predictions(job=job) if job is not None else None
    judgments, answer_counts = _campaign_answers(campaign) if campaign is not None else (None, None)
    try:
        report = build_comparison(
            report_utterances(corpus=corpus), predictions, judgments, classes, seed=seed, progress=progress
        )
    except ValueError as exc:
        raise ReportInputError(str(exc)) from exc
    if job is not None and job.status != TrainingJob.Status.SUCCEEDED:
        report["missing"].insert(
            0, f"training job {job.pk} has not succeeded (status {job.status}): its predictions may be partial"
        )
    report["corpus"] = corpus.name
    report["job"] = None if job is None else {"id": job.pk, "status": job.status, "preset": job.preset}
    report["campaign"] = None if campaign is None else {"id": campaign.pk, "name": campaign.name}
    report["human_answer_counts"] = answer_counts
    return report


def _data_fingerprint(job: TrainingJob | None, campaign: Campaign | None) -> tuple:
    """Cheap aggregates that change whenever a prediction or an answer is added, removed or changed
    (an assessor's undo rewrites an answer in place: its ``changed_at`` moves)."""
    parts: list = []
    if job is not None:
        stats = UtterancePrediction.objects.filter(job=job).aggregate(n=Count("id"), last=Max("id"))
        parts += [job.pk, job.status, stats["n"], stats["last"]]
    if campaign is not None:
        stats = Judgment.objects.filter(campaign=campaign).aggregate(
            n=Count("id"), last=Max("id"), last_change=Max("changed_at")
        )
        last_change = stats["last_change"].timestamp() if stats["last_change"] else None
        parts += [campaign.pk, stats["n"], stats["last"], last_change]
    return tuple(parts)


def report_fingerprint(*, job: TrainingJob | None, campaign: Campaign | None) -> str:
    """A short text that changes whenever the report's inputs change (two aggregate queries)."""
    return "-".join(str(part) for part in _data_fingerprint(job, campaign))


def stored_report_key(*, job: TrainingJob | None, campaign: Campaign | None, seed: int) -> str:
    """The stored report's key: which job, which campaign, which seed."""
    return f"{job.pk if job else '-'}:{campaign.pk if campaign else '-'}:{seed}"


def stored_report(*, job: TrainingJob | None, campaign: Campaign | None, seed: int) -> StoredReport | None:
    """The stored version of a report, or None when nobody has asked for it yet."""
    return StoredReport.objects.filter(key=stored_report_key(job=job, campaign=campaign, seed=seed)).first()


def report_cache_key(*, job: TrainingJob | None, campaign: Campaign | None, seed: int) -> str:
    """The cache key of a report: its inputs' ids, the seed and the data's fingerprint."""
    fingerprint = "-".join(str(part) for part in _data_fingerprint(job, campaign))
    return f"emolab:comparison:{job.pk if job else '-'}:{campaign.pk if campaign else '-'}:{seed}:{fingerprint}"


def comparison_report_keyed(*, job: TrainingJob | None = None, campaign: Campaign | None = None, seed: int = 0):
    """(cache key, report): ``comparison_report`` kept for a minute in Django's cache, keyed by the
    data's fingerprint. The key lets a caller cache what it derives from this very report."""
    key = report_cache_key(job=job, campaign=campaign, seed=seed)
    report = cache.get(key)
    if report is None:
        report = comparison_report(job=job, campaign=campaign, seed=seed)
        cache.set(key, report, REPORT_CACHE_SECONDS)
    return key, report


def comparison_report_cached(
    *, job: TrainingJob | None = None, campaign: Campaign | None = None, seed: int = 0
) -> dict:
    return comparison_report_keyed(job=job, campaign=campaign, seed=seed)[1]


# --- utterance explorer (figure 4) ------------------------------------------------------------


@dataclass(frozen=True)
class UtteranceExplorer:
    """What the explorer shows for one utterance: predictions per row, the frame probabilities of
    Framewise (T, K) and CTC (T, K + 1, blank last), CTC's decoded spans, votes and answers."""

    utterance: Utterance
    classes: list[str]
    predictions: list[dict]
    framewise_frames: list | None
    ctc_frames: list | None
    ctc_row: str | None
    decoded: list[DecodedSpan]
    frame_step_s: float
    votes: list[dict]
    answers: list[dict]
    # Each stored frame's number among all frames of the signal (the paper's features drop edge and
    # silent frames), from the job's feature set; None when unknown (every frame then assumed kept).
    frame_index: list[int] | None = None
    window_s: float = 0.0

    @property
    def has_frames(self) -> bool:
        return bool(self.framewise_frames) or bool(self.ctc_frames)


def _frame_index(job: TrainingJob | None, utterance: Utterance, n_frames: int) -> list[int] | None:
    """The kept frames' numbers of one utterance, when the job's feature set still has them and
    they match the stored probabilities frame for frame."""
    if job is None or job.feature_set_id is None or not n_frames:
        return None
    try:
        numbers = feature_frame_indices(feature_set=job.feature_set, utterance_ids=[utterance.pk]).get(utterance.pk)
    except (FeatureSetNotReady, UnknownUtterances):
        return None
    if numbers is None or len(numbers) != n_frames:
        return None
    return [int(n) for n in numbers]


def _window_s(job: TrainingJob | None) -> float:
    if job is not None and job.feature_set_id is not None:
        return float(job.feature_set.config.get("window_s", DEFAULT_WINDOW_S))
    return DEFAULT_WINDOW_S


def _frame_step_s(job: TrainingJob | None) -> float:
    if job is not None and job.feature_set_id is not None:
        return float(job.feature_set.config.get("step_s", DEFAULT_FRAME_STEP_S))
    return DEFAULT_FRAME_STEP_S


def _decoded_spans(decoded, classes: list[str]) -> list[DecodedSpan]:
    """Stored spans are [class index or name, start_frame, end_frame]."""
    spans = []
    for emotion, start, end in decoded or ():
        name = classes[emotion] if isinstance(emotion, int) and 0 <= emotion < len(classes) else str(emotion)
        spans.append(DecodedSpan(emotion=name, start_frame=int(start), end_frame=int(end)))
    return spans


def utterance_explorer(
    *, utterance: Utterance, job: TrainingJob | None = None, campaign: Campaign | None = None
) -> UtteranceExplorer:
    """One utterance seen through the job's rows and the campaign's answers (figure 4)."""
    report_corpus(job=job, campaign=campaign)
    corpus = job.corpus if job is not None else campaign.corpus
    if utterance.corpus_id != corpus.pk:
        raise ReportInputError(f"utterance {utterance.public_id} is not in corpus {corpus.name!r}")
    classes = report_classes(job=job, campaign=campaign, corpus=corpus)
    predictions, framewise, ctc, ctc_row, decoded = [], None, None, None, []
    if job is not None:
        stored = {
            p.row: p
            for p in UtterancePrediction.objects.filter(job=job, utterance=utterance).only(
                "row", "fold", "predicted_label", "probabilities", "frame_probabilities", "decoded"
            )
        }
        for row in sorted(stored, key=lambda name: (ROW_NAMES.index(name) if name in ROW_NAMES else 99, name)):
            p = stored[row]
            predictions.append(
                {
                    "row": row,
                    "label": row_label(row),
                    "fold": p.fold,
                    "predicted": p.predicted_label or None,
                    "correct": bool(p.predicted_label) and p.predicted_label == utterance.label,
                    # a row stored without probabilities has none to pair with the classes
                    "probabilities": list(zip(classes, p.probabilities or (), strict=False)),
                }
            )
        if "framewise" in stored:
            framewise = stored["framewise"].frame_probabilities
        ctc_row = next((row for row in CTC_ROWS if row in stored and stored[row].frame_probabilities), None)
        if ctc_row is not None:
            ctc = stored[ctc_row].frame_probabilities
            decoded = _decoded_spans(stored[ctc_row].decoded, classes)
    votes = [
        {"rater": rater, "categories": categories, "agrees": utterance.label in categories}
        for rater, categories in utterance.votes.filter(is_self_evaluation=False)
        .order_by("rater")
        .values_list("rater", "categories")
    ]
    answers = []
    if campaign is not None:
        for username, answer, phase, position, response_ms in (
            Judgment.objects.filter(campaign=campaign, utterance=utterance)
            .order_by("assessor__username")
            .values_list("assessor__username", "answer", "phase", "position", "response_ms")
        ):
            answers.append(
                {
                    "assessor": username,
                    "answer": answer,
                    "phase": phase,
                    "position": position,
                    "response_ms": response_ms,
                    "cant_tell": answer == CANT_TELL,
                    "correct": answer == utterance.label,
                }
            )
    return UtteranceExplorer(
        utterance=utterance,
        classes=classes,
        predictions=predictions,
        framewise_frames=framewise,
        ctc_frames=ctc,
        ctc_row=ctc_row,
        decoded=decoded,
        frame_step_s=_frame_step_s(job),
        votes=votes,
        answers=answers,
        frame_index=_frame_index(job, utterance, len(framewise or ctc or ())),
        window_s=_window_s(job),
    )


# --- choosing the inputs from a query string --------------------------------------------------


class ReportSourceNotFound(LookupError):
    """The query names a job or a campaign that does not exist (shown as a 404)."""


def _query_id(params, name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    # ASCII digits only (str.isdigit also accepts "²"), and no longer than a bigint's 19 digits
    # (int() of thousands of digits is refused, and no id or seed column holds more).
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > _LARGEST_ID:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise ReportInputError(f"{name} must be a positive integer id, got {shown!r}")
    return int(raw)


def report_sources(*, params) -> tuple[TrainingJob | None, Campaign | None, int]:
    """(job, campaign, seed) named by a query string's ``job``, ``campaign`` and ``seed``.

    Raises ReportInputError for malformed ids or neither id, ReportSourceNotFound for unknown ones.
    """
    job_id, campaign_id = _query_id(params, "job"), _query_id(params, "campaign")
    seed = _query_id(params, "seed") or 0
    if job_id is None and campaign_id is None:
        raise ReportInputError("choose a training job (?job=<id>), a campaign (?campaign=<id>) or both")
    job = campaign = None
    if job_id is not None:
        job = TrainingJob.objects.select_related("corpus", "feature_set").filter(pk=job_id).first()
        if job is None:
            raise ReportSourceNotFound(f"no training job {job_id}")
    if campaign_id is not None:
        campaign = Campaign.objects.select_related("corpus").filter(pk=campaign_id).first()
        if campaign is None:
            raise ReportSourceNotFound(f"no campaign {campaign_id}")
    report_corpus(job=job, campaign=campaign)
    return job, campaign, seed


def report_choices() -> list[dict]:
    """Per corpus, the jobs and campaigns a report can be built from (for the chooser page)."""
    jobs = TrainingJob.objects.select_related("corpus").order_by("-created_at")
    campaigns = (
        Campaign.objects.select_related("corpus")
        .annotate(
            n_judgments=Count("judgments"),
            n_scored=Count("judgments", filter=Q(judgments__phase=CampaignItem.Role.MAIN)),
        )
        .order_by("-created_at")
    )
    by_corpus: dict[str, dict] = {}
    for job in jobs:
        by_corpus.setdefault(job.corpus.name, {"corpus": job.corpus.name, "jobs": [], "campaigns": []})["jobs"].append(
            job
        )
    for campaign in campaigns:
        entry = by_corpus.setdefault(
            campaign.corpus.name, {"corpus": campaign.corpus.name, "jobs": [], "campaigns": []}
        )
        entry["campaigns"].append(campaign)
    return [by_corpus[name] for name in sorted(by_corpus)]


def explorer_rows(*, job: TrainingJob | None, campaign: Campaign | None) -> list[dict]:
    """The explorer's rows (``ser/analysis/explorer.py``), stored with a report: the campaign's
    main items (or, without a campaign, the job's predicted utterances), each with its scored human
    answers and every method's prediction with its confidence (the top class probability).
    Three queries, whatever the number of utterances."""
    if campaign is not None:
        pool = Utterance.objects.filter(campaign_items__campaign=campaign, campaign_items__role=CampaignItem.Role.MAIN)
    else:
        pool = Utterance.objects.filter(predictions__job=job).distinct()
    rows = {
        pk: {
            "name": name,
            "public_id": str(public_id),
            "label": label,
            "n_dissenting": n_dissenting,
            "humans": [],
            "methods": {},
        }
        for pk, public_id, name, label, n_dissenting in pool.values_list(
            "id", "public_id", "name", "label", "n_dissenting"
        )
    }
    if campaign is not None:
        for utterance_id, answer in (
            Judgment.objects.scored()
            .labelled()
            .filter(campaign=campaign)
            .order_by("assessor__username")
            .values_list("utterance_id", "answer")
        ):
            if utterance_id in rows:
                rows[utterance_id]["humans"].append(answer)
    if job is not None:
        for utterance_id, row, predicted, probabilities in (
            UtterancePrediction.objects.filter(job=job)
            .order_by("row")
            .values_list("utterance_id", "row", "predicted_label", "probabilities")
        ):
            if utterance_id in rows:
                rows[utterance_id]["methods"][row] = {
                    "predicted": predicted or None,
                    "confidence": round(float(max(probabilities)), 4) if probabilities else None,
                }
    return sorted(rows.values(), key=lambda r: r["name"])


def stored_explorer(*, job: TrainingJob | None, campaign: Campaign | None, seed: int):
    """The stored report's explorer rows and "as of" time, without loading the report itself."""
    return (
        StoredReport.objects.filter(key=stored_report_key(job=job, campaign=campaign, seed=seed))
        .only("key", "explorer", "as_of", "fingerprint", "status")
        .first()
    )
