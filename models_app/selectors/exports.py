"""The out-of-fold predictions of a training job as a table: one row per utterance and method,
read a chunk at a time (emolab/streaming.py).

A method's row is its Table 1 row of the same name (for CTC: beam search, the paper's decoder);
the CTC best-path and exact-single-label rows of the same utterance are read with it and become
columns of that row. Per-frame probabilities are not exported (thousands of numbers per
utterance); the timeline and the report pages show them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from emolab.streaming import CHUNK_ROWS, Column, chunked
from models_app.models import TrainingJob, UtterancePrediction
from models_app.ser.registry import METHODS

CTC_DECODER_ROWS = {row.decoder: row.name for row in METHODS["ctc"].rows}  # beam -> ctc, best_path -> ...


@dataclass(frozen=True)
class PredictionRow:
    prediction: UtterancePrediction
    classes: tuple[str, ...]
    decoders: dict[str, UtterancePrediction]  # CTC only: decoder name -> that row's prediction


def _spans(prediction: UtterancePrediction | None, classes) -> list | None:
    """A CTC decoding as [[emotion, start_frame, end_frame], ...] (end exclusive)."""
    if prediction is None or prediction.decoded is None:
        return None
    return [[classes[int(index)], int(start), int(end)] for index, start, end in prediction.decoded]


def _decoder_label(decoder: str):
    def value(row: PredictionRow):
        found = row.decoders.get(decoder)
        return None if found is None else found.predicted_label

    return value


def _decoder_spans(decoder: str):
    return lambda row: _spans(row.decoders.get(decoder), row.classes)


def _probability(index: int):
    def value(row: PredictionRow):
        probabilities = row.prediction.probabilities or []
        return probabilities[index] if index < len(probabilities) else None

    return value


_LEADING = (
    Column("job", "Training job id.", lambda r: r.prediction.job_id),
    Column(
        "method",
        "The method: `dummy`, `framewise`, `onelabel`, `ctc`, `utterance_stats` (registry in models_app/ser).",
        lambda r: r.prediction.row,
    ),
    Column("corpus", "Corpus name.", lambda r: r.prediction.utterance.corpus.name),
    Column("utterance", "Utterance name in its corpus.", lambda r: r.prediction.utterance.name),
    Column("speaker", "Speaker code.", lambda r: r.prediction.utterance.speaker.code),
    Column("fold", "The cross-validation fold the utterance was tested in (0-based).", lambda r: r.prediction.fold),
    Column("true_label", "The expert label the method was scored against.", lambda r: r.prediction.true_label),
    Column(
        "predicted_label",
        "The method's prediction (CTC: the beam-search decoding's label, the paper's; '' = the decoding "
        "held no emotion, counted as an error).",
        lambda r: r.prediction.predicted_label,
    ),
    Column(
        "correct",
        "Whether `predicted_label` equals `true_label`.",
        lambda r: r.prediction.predicted_label == r.prediction.true_label,
    ),
)
PROBABILITY_COLUMN_DESCRIPTION = (
    "`p_<class>`, one column per class of the job in its class order: the utterance-level class probability "
    "(CTC: from the frame posteriors without the blank; framewise: the share of frames voting for the class)."
)
_TRAILING = tuple(
    column
    for decoder in ("beam", "best_path", "exact")
    for column in (
        Column(
            f"ctc_{decoder}",
            f"CTC only: the label of the {decoder.replace('_', '-')} decoding ('' = no emotion decoded, "
            "several = the longest span's emotion); empty for other methods.",
            _decoder_label(decoder),
        ),
        Column(
            f"ctc_{decoder}_spans",
            f"CTC only: the {decoder.replace('_', '-')} decoding as a JSON list of [emotion, start_frame, "
            "end_frame] (end exclusive, 100 ms frame step).",
            _decoder_spans(decoder),
        ),
    )
)


def prediction_columns(job: TrainingJob) -> tuple[Column, ...]:
    probabilities = tuple(
        Column(f"p_{name}", PROBABILITY_COLUMN_DESCRIPTION, _probability(index))
        for index, name in enumerate(job.classes)
    )
    return _LEADING + probabilities + _TRAILING


def documented_prediction_columns() -> tuple[Column, ...]:
    """The columns with one placeholder ``p_<class>`` (docs/exports.md, the schema)."""
    return _LEADING + (Column("p_<class>", PROBABILITY_COLUMN_DESCRIPTION, lambda r: None),) + _TRAILING


def prediction_rows(*, job: TrainingJob, chunk_rows: int = CHUNK_ROWS) -> Iterator[PredictionRow]:
    """One row per utterance and method, method by method in the job's order."""
    classes = tuple(job.classes)
    method_rows = [method for method in job.methods if method in METHODS]
    base = UtterancePrediction.objects.filter(job=job).select_related("utterance__corpus", "utterance__speaker")
    for method in method_rows:
        main = base.filter(row=method).defer("frame_probabilities")
        for chunk in chunked(main, chunk_rows):
            decoders: dict[tuple[str, int], UtterancePrediction] = {}
            if method == "ctc":
                others = UtterancePrediction.objects.filter(
                    job=job,
                    row__in=[CTC_DECODER_ROWS["best_path"], CTC_DECODER_ROWS["exact"]],
                    utterance_id__in=[p.utterance_id for p in chunk],
                ).only("row", "utterance_id", "predicted_label", "decoded")
                decoders = {(p.row, p.utterance_id): p for p in others}
            for prediction in chunk:
                found = {}
                if method == "ctc":
                    found["beam"] = prediction
                    for decoder in ("best_path", "exact"):
                        other = decoders.get((CTC_DECODER_ROWS[decoder], prediction.utterance_id))
                        if other is not None:
                            found[decoder] = other
                yield PredictionRow(prediction, classes, found)
            del chunk, decoders, prediction, found  # not alive while the next chunk is read
