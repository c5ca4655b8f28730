"""The assessors (paper section 4.6): accuracy per assessor and over time, agreement among them,
agreement with each method, and hidden gold items.

Warm-up answers are training examples (paper 4.6: "not included in the final statistics") and
gold answers are a hand-picked easy subset: both are left out of everything here except the
counts that say so and the gold section.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import krippendorff
import numpy as np
from scipy.stats import norm
from statsmodels.stats.inter_rater import fleiss_kappa

from .config import AnalysisConfig
from .inputs import HumanJudgment, UtteranceId, UtteranceRecord
from .scoring import (
    MajorityAnswers,
    RowAnswers,
    accuracies,
    class_index,
    finite_or_none,
    scored_judgments,
    share,
)

NO_ANSWER = "(none)"  # category of an empty CTC decoding when a method is compared with humans


def assessor_accuracy(row: RowAnswers, judgments: Sequence[HumanJudgment], n_classes: int) -> list[dict]:
    """Per assessor: scored answers with an expert label, both accuracies, median response time."""
    response_ms: dict[str, list[int]] = defaultdict(list)
    for judgment in judgments:
        if judgment.response_ms is not None:
            response_ms[judgment.assessor].append(judgment.response_ms)
    assessors = np.array(row.groups, dtype=object)
    result = []
    for assessor in sorted(set(row.groups) | set(response_ms), key=str):
        mask = assessors == assessor
        overall, mean_class = accuracies(row.true[mask], row.predicted[mask], n_classes)
        times = response_ms.get(assessor, [])
        result.append(
            {
                "assessor": assessor,
                "n": int(mask.sum()),
                "overall_accuracy": overall,
                "mean_class_accuracy": mean_class,
                "median_response_ms": float(np.median(times)) if times else None,
            }
        )
    return result


def wilson_interval(successes: int, n: int, confidence: float) -> list[float] | None:
    """Wilson score interval of a proportion; better than the normal one for small bins."""
    if n == 0:
        return None
    z = float(norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At p = 0 or 1 one bound equals p exactly in theory but lands a rounding error inside it in
    # floating point; the interval must contain its estimate (error bars are drawn from the difference).
    return [min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))]


def accuracy_over_answer_index(row: RowAnswers, config: AnalysisConfig) -> dict:
    """Accuracy of the pooled answers in bins of ``answer_index_bin_width`` consecutive answer
    indices (bin start = index // width * width). If feedback teaches, later bins are higher.
    Each bin carries a Wilson interval, which treats its answers as independent."""
    width = config.answer_index_bin_width
    if row.n == 0:
        return {"bin_width": width, "bins": []}
    starts = (row.answer_index // width) * width
    bins = []
    for start in sorted(set(starts.tolist())):
        mask = starts == start
        n, hits = int(mask.sum()), int(row.correct[mask].sum())
        bins.append(
            {
                "start": start,
                "end": start + width - 1,
                "n": n,
                "accuracy": hits / n,
                "ci": wilson_interval(hits, n, config.confidence),
                "n_assessors": len({row.groups[i] for i in np.flatnonzero(mask)}),
            }
        )
    return {"bin_width": width, "bins": bins}


def _categories(judgments: Sequence[HumanJudgment], classes: Sequence[str]) -> list[str]:
    """The class set, then any other answer seen (in name order), so every answer has a column."""
    extra = sorted({j.answer for j in judgments} - set(classes))
    return list(classes) + extra


def fleiss_kappa_first_answers(
    judgments: Sequence[HumanJudgment], classes: Sequence[str], raters_per_utterance: int
) -> dict:
    """Fleiss' kappa over utterances with at least ``raters_per_utterance`` answers.

    statsmodels' ``fleiss_kappa`` needs the same number of raters on every utterance, so each
    utterance contributes its first ``raters_per_utterance`` answers, ordered by each answer's
    position in its assessor's sequence (then by assessor name); later answers are dropped and
    counted in ``n_utterances_truncated``, utterances with fewer answers in ``n_utterances_too_few``.
    """
    by_utterance: dict[UtteranceId, list[HumanJudgment]] = defaultdict(list)
    for judgment in judgments:
        by_utterance[judgment.utterance_id].append(judgment)
    categories = _categories(judgments, classes)
    column = {name: i for i, name in enumerate(categories)}
    table_rows = []
    n_truncated = n_too_few = 0
    for answers in by_utterance.values():
        if len(answers) < raters_per_utterance:
            n_too_few += 1
            continue
        n_truncated += int(len(answers) > raters_per_utterance)
        first = sorted(answers, key=lambda j: (j.answer_index, j.assessor))[:raters_per_utterance]
        counts = np.zeros(len(categories), dtype=int)
        for judgment in first:
            counts[column[judgment.answer]] += 1
        table_rows.append(counts)
    result = {
        "kappa": None,
        "raters_per_utterance": raters_per_utterance,
        "n_utterances": len(table_rows),
        "n_utterances_truncated": n_truncated,
        "n_utterances_too_few": n_too_few,
        "categories": categories,
    }
    if table_rows:
        table = np.vstack(table_rows)  # (utterances, categories)
        # Every answer in one category leaves chance agreement at 1 and kappa undefined (0/0).
        if np.count_nonzero(table.sum(axis=0)) > 1:
            result["kappa"] = finite_or_none(fleiss_kappa(table, method="fleiss"))
    return result


def krippendorff_alpha_nominal(judgments: Sequence[HumanJudgment], classes: Sequence[str]) -> dict:
    """Krippendorff's alpha (nominal) over every scored answer; it handles any number of answers
    per utterance (utterances with a single answer carry no pairs and drop out)."""
    categories = _categories(judgments, classes)
    value = {name: i for i, name in enumerate(categories)}
    assessors = sorted({j.assessor for j in judgments})
    units = sorted({j.utterance_id for j in judgments}, key=lambda u: (type(u).__name__, str(u)))
    row_of = {a: i for i, a in enumerate(assessors)}
    column_of = {u: i for i, u in enumerate(units)}
    reliability = np.full((len(assessors), len(units)), np.nan)  # (assessors, utterances)
    for judgment in judgments:
        reliability[row_of[judgment.assessor], column_of[judgment.utterance_id]] = value[judgment.answer]
    answers_per_unit = np.sum(~np.isnan(reliability), axis=0)
    n_pairable = int(np.sum(answers_per_unit >= 2))
    result = {"alpha": None, "n_utterances_pairable": n_pairable, "n_assessors": len(assessors)}
    distinct_values = np.unique(reliability[:, answers_per_unit >= 2][~np.isnan(reliability[:, answers_per_unit >= 2])])
    if n_pairable and len(distinct_values) > 1:
        result["alpha"] = finite_or_none(
            krippendorff.alpha(
                reliability_data=reliability,
                value_domain=list(range(len(categories))),
                level_of_measurement="nominal",
            )
        )
    return result


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> dict:
    """Cohen's kappa between two raters' answers (n,) to the same items.

    kappa = (p_o - p_e) / (1 - p_e) with p_o the observed agreement and p_e = sum_k p1(k) p2(k)
    the agreement expected from the two raters' own answer frequencies; None when p_e = 1.
    """
    n = len(first)
    if n == 0:
        return {"n": 0, "kappa": None, "observed_agreement": None, "expected_agreement": None}
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    labels = set(first) | set(second)
    expected = sum((list(first).count(k) / n) * (list(second).count(k) / n) for k in labels)
    kappa = (observed - expected) / (1 - expected) if expected < 1 else None
    return {"n": n, "kappa": kappa, "observed_agreement": observed, "expected_agreement": expected}


def human_method_kappa(method_rows: Mapping[str, RowAnswers], majority: MajorityAnswers) -> list[dict]:
    """Cohen's kappa between each method and the assessors' majority answer per utterance, on the
    utterances both answered (an empty decoding is the answer "(none)")."""
    results = []
    for name, row in method_rows.items():
        pairs = [
            (majority.answers[u], NO_ANSWER if answer is None else answer)
            for u, answer in zip(row.utterance_ids, row.answers, strict=True)
            if u in majority.answers
        ]
        results.append({"row": name, **cohen_kappa([h for h, _ in pairs], [m for _, m in pairs])})
    return results


def gold_accuracy(
    judgments: Sequence[HumanJudgment], utterances_by_id: Mapping[UtteranceId, UtteranceRecord], classes: Sequence[str]
) -> dict:
    """Accuracy on hidden gold items (unanimous utterances interleaved to follow each assessor),
    pooled and per assessor; ``n`` is 0 when the campaign had none."""
    index = class_index(classes)
    gold = [j for j in judgments if j.is_gold and not j.is_warmup and utterances_by_id[j.utterance_id].label in index]
    per_assessor: dict[str, list[bool]] = defaultdict(list)
    for judgment in gold:
        per_assessor[judgment.assessor].append(judgment.answer == utterances_by_id[judgment.utterance_id].label)
    hits = sum(sum(v) for v in per_assessor.values())
    return {
        "n": len(gold),
        "accuracy": share(hits, len(gold)),
        "per_assessor": [
            {"assessor": a, "n": len(v), "accuracy": share(sum(v), len(v))} for a, v in sorted(per_assessor.items())
        ],
    }


def human_statistics(
    *,
    judgments: Sequence[HumanJudgment],
    utterances_by_id: Mapping[UtteranceId, UtteranceRecord],
    classes: Sequence[str],
    human: RowAnswers,
    majority: MajorityAnswers,
    method_rows: Mapping[str, RowAnswers],
    config: AnalysisConfig,
) -> dict:
    """The human section. ``judgments`` are all of a campaign's answers (warm-up and gold
    included: they are counted and set apart here); ``human`` is the pooled row of scored answers
    with an expert label and ``majority`` its one answer per utterance."""
    scored = scored_judgments(judgments)
    return {
        "n_judgments": len(judgments),
        "n_warmup_excluded": sum(1 for j in judgments if j.is_warmup),
        "n_gold_excluded": sum(1 for j in judgments if j.is_gold and not j.is_warmup),
        "n_scored": len(scored),
        "n_scored_with_label": human.n,
        "n_assessors": len({j.assessor for j in scored}),
        "assessors": assessor_accuracy(human, scored, len(classes)),
        "answer_index": accuracy_over_answer_index(human, config),
        "fleiss_kappa": fleiss_kappa_first_answers(scored, classes, config.fleiss_raters_per_utterance),
        "krippendorff_alpha": krippendorff_alpha_nominal(scored, classes),
        "cohen_kappa_with_methods": human_method_kappa(method_rows, majority),
        "n_majority_ties": majority.n_ties,
        "gold": gold_accuracy(judgments, utterances_by_id, classes),
    }
