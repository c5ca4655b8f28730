"""The comparison report: every section from what exists, and a plain list of what does not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace

from ..progress import ProgressCallback, ProgressEvent, ignore_progress
from ..registry import CTC_ROWS, ROW_NAMES
from .accuracy import pairwise_mcnemar, table1
from .config import AnalysisConfig
from .confusion import confusion_matrices
from .disagreement import disagreement_table
from .humans import human_statistics
from .inputs import (
    HUMAN_ROW,
    HumanJudgment,
    MethodPredictions,
    UtteranceRecord,
    check_classes,
    check_judgments,
    check_predictions,
    index_utterances,
    row_label,
)
from .overview import data_overview
from .residual import residual_agreement
from .scoring import RowAnswers, human_majority, human_row, majority_row, method_row, scored_judgments

SECTIONS = ("overview", "table1", "mcnemar", "confusion", "disagreement", "residual", "human")


def _ordered_method_names(predictions: MethodPredictions) -> list[str]:
    """Table 1's rows in the paper's order, any other row after them by name."""
    known = [name for name in ROW_NAMES if name in predictions]
    return known + sorted(name for name in predictions if name not in ROW_NAMES)


def build_comparison(
    utterances: Sequence[UtteranceRecord],
    predictions: MethodPredictions | None,
    judgments: Sequence[HumanJudgment] | None,
    classes: Sequence[str],
    seed: int = 0,
    *,
    config: AnalysisConfig | None = None,
    progress: ProgressCallback = ignore_progress,
) -> dict:
    """Every section of the comparison report as plain data (JSON-ready: no NaN, no numpy types).

    ``predictions`` (a training job's out-of-fold predictions per row) and ``judgments`` (a
    campaign's answers, warm-up and gold included) may each be None when there is no job or no
    campaign; the report then holds what the other allows and ``missing`` says what is absent.
    ``seed`` overrides ``config.seed``. Bad input (unknown utterances, duplicates, a class set
    that cannot order a matrix) raises ValueError before anything is computed.

    Keys: ``classes``, ``rows`` (name and label of each Table 1 row, in order), ``config``,
    ``overview``, ``table1``, ``mcnemar``, ``confusion``, ``disagreement``, ``residual``, ``human``
    (None without judgments) and ``missing`` (sentences).
    """
    classes = list(check_classes(classes))
    config = replace(config or AnalysisConfig(), seed=seed)
    utterances_by_id = index_utterances(utterances)
    if predictions is not None:
        check_predictions(predictions, utterances_by_id, len(classes))
    if judgments is not None:
        check_judgments(judgments, utterances_by_id)
    missing: list[str] = []
    step = _Steps(progress, total=len(SECTIONS) + 1)

    rows: dict[str, RowAnswers] = {}
    if predictions is None:
        missing.append("no training job selected")
    else:
        for name in _ordered_method_names(predictions):
            row = method_row(name, predictions[name], utterances_by_id, classes)
            if row.n:
                rows[name] = row
        if not any(predictions.values()):
            missing.append("the training job has no predictions yet")
        elif not rows:
            missing.append("the training job's predictions cover no utterance labelled in the class set")
        if rows and not any(name in rows for name in CTC_ROWS):
            missing.append("no CTC predictions")
    method_rows = dict(rows)

    human = majority = None
    if judgments is None:
        missing.append("no campaign selected")
    else:
        scored = scored_judgments(judgments)
        human = human_row(scored, utterances_by_id, classes)
        majority = human_majority(human, config.seed)
        if not scored:
            missing.append("no campaign judgments yet")
        elif not human.n:
            missing.append("no campaign judgment on an utterance labelled in the class set")
        if human.n:
            rows[HUMAN_ROW] = human
        if len({j.assessor for j in scored}) == 1:
            missing.append("judgments from a single assessor: no agreement among assessors")
    labelled = [u for u in utterances if u.label in classes]
    if labelled and not any(u.expert_votes for u in labelled):
        missing.append("no expert votes: the disagreement and residual sections are empty")
    step("inputs")

    report = {
        "classes": classes,
        "rows": [{"name": name, "label": row_label(name)} for name in rows],
        "config": asdict(config),
    }
    report["overview"] = data_overview(utterances, classes)
    step("overview")
    report["table1"] = table1(rows, len(classes), config)
    step("table1")
    paired_rows = dict(method_rows)
    if HUMAN_ROW in rows:
        # McNemar pairs one answer per utterance: the human row enters as its majority answers.
        paired_rows[HUMAN_ROW] = majority_row(human, majority, classes)
    report["mcnemar"] = {
        "pairs": pairwise_mcnemar(paired_rows, config),
        "n_human_majority_ties": majority.n_ties if majority is not None else None,
    }
    step("mcnemar")
    report["confusion"] = confusion_matrices(rows, classes)
    step("confusion")
    report["disagreement"] = disagreement_table(rows, utterances_by_id, classes)
    step("disagreement")
    report["residual"] = residual_agreement(rows, utterances_by_id, classes)
    step("residual")
    report["human"] = (
        human_statistics(
            judgments=judgments,
            utterances_by_id=utterances_by_id,
            classes=classes,
            human=human,
            majority=majority,
            method_rows=method_rows,
            config=config,
        )
        if judgments is not None
        else None
    )
    step("human")
    report["missing"] = missing
    return report


class _Steps:
    """Reports each finished section to the progress callback."""

    def __init__(self, progress: ProgressCallback, total: int):
        self.progress = progress
        self.total = total
        self.done = 0

    def __call__(self, section: str) -> None:
        self.done += 1
        self.progress(ProgressEvent(stage="report", done=self.done, total=self.total, detail={"section": section}))
