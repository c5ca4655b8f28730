"""The methods of Table 1: the one place that names them, titles them and builds their estimators.

Everything else reads from here: the experiment and its command line, the training jobs (start
form, API, progress weights, final models), checkpoints, the report analysis and the pages.

A method has one or more *result rows*: the CTC network is scored three times, once per decoder
(beam search is the paper's). Each method and row has two titles: a short one for tables,
figures and the command line, and a long one where a method is chosen (the job form and page).

Estimators are built from the config's sections: a section's fields are the estimator's
parameters of the same names, so a new setting needs only the config field and the estimator
argument. The estimator classes are imported when the first one is built, not when this module
is: the networks need torch, and the web process, which reads names and titles here, must not
load it (``tests/test_import_boundaries.py`` keeps it so).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

from models_app.ser.config import ExperimentConfig
from models_app.ser.features.columns import has_functionals, loudness_column
from models_app.ser.features.config import DEFAULT_FEATURE_SET

# TrainingConfig's per-method class weights: each goes to its own network's ``class_weight``.
_PER_METHOD_TRAINING_FIELDS = ("onelabel_class_weight", "ctc_class_weight")


def _blstm_parameters(config: ExperimentConfig, class_weight: str | None) -> dict:
    """The network and training sections, shared by the one-label and CTC networks."""
    training = {k: v for k, v in asdict(config.training).items() if k not in _PER_METHOD_TRAINING_FIELDS}
    network = asdict(config.network)
    # openSMILE's descriptors span five orders of magnitude (formants in Hz beside ratios and a
    # -201 dB floor): unscaled, they saturate the LSTM gates, so the networks always standardise
    # them (on the training fold's frames). The paper's set keeps the preset's choice: the
    # authors fed it raw, and standardising it emptied CTC decodings (docs/methods.md).
    network["standardize"] = network["standardize"] or config.features != DEFAULT_FEATURE_SET
    return {
        **network,
        **training,
        "class_weight": class_weight,
        "n_threads": config.n_threads,
        "device": config.device,
        "random_state": config.seed,
    }


def _dummy_parameters(config: ExperimentConfig) -> dict:
    return {"random_state": config.seed}


def _framewise_parameters(config: ExperimentConfig) -> dict:
    return {
        **asdict(config.framewise),
        "energy_column": loudness_column(config.features),
        "n_jobs": config.n_threads,
        "random_state": config.seed,
    }


def _onelabel_parameters(config: ExperimentConfig) -> dict:
    return _blstm_parameters(config, config.training.onelabel_class_weight)


def _ctc_parameters(config: ExperimentConfig) -> dict:
    # The estimator decodes with beam search by default; the folds read the other decoders too.
    return {**_blstm_parameters(config, config.training.ctc_class_weight), **asdict(config.ctc), "decoder": "beam"}


def _utterance_stats_parameters(config: ExperimentConfig) -> dict:
    return {
        **asdict(config.utterance_stats),
        "statistics": "functionals" if reads_utterance_vectors("utterance_stats", config) else "frames",
        "n_jobs": config.n_threads,
        "random_state": config.seed,
    }


def reads_utterance_vectors(method: str, config: ExperimentConfig) -> bool:
    """Whether ``method`` reads each utterance's descriptor vector instead of its frames: the
    utterance-statistics forest on a set with functionals (eGeMAPS) takes those, the field's
    classic utterance-level baseline, rather than statistics of the pooled frames."""
    return method == "utterance_stats" and has_functionals(config.features)


@dataclass(frozen=True)
class ResultRow:
    """One row of Table 1."""

    name: str
    method: str
    title: str  # tables, figures, the command line
    long_title: str  # the job page
    decoder: str | None = None  # CTC rows: the decoder that reads the network's outputs


@dataclass(frozen=True)
class Method:
    name: str
    title: str  # short: tables, figures, the command line
    long_title: str  # where a method is chosen: the job form and the job page
    estimator: str  # "module.Class", imported when the first estimator is built
    parameters: Callable[[ExperimentConfig], dict]  # the estimator's arguments from the config's sections
    frame_outputs: bool  # per-frame probabilities besides the utterance's (figure 4, the timeline)
    relative_cost: float  # rough cost of one fold, for progress bars and scheduling the slow units first
    decoders: tuple[tuple[str, str], ...] = ()  # (row suffix, decoder) of CTC rows: one row each

    @property
    def rows(self) -> tuple[ResultRow, ...]:
        if not self.decoders:
            return (ResultRow(self.name, self.name, self.title, self.long_title),)
        return tuple(
            ResultRow(
                name=self.name + suffix,
                method=self.name,
                title=f"{self.title} ({DECODER_TITLES[decoder]})",
                long_title=f"{self.long_title} ({DECODER_TITLES[decoder]})",
                decoder=decoder,
            )
            for suffix, decoder in self.decoders
        )

    def estimator_class(self) -> type:
        module, _, name = self.estimator.rpartition(".")
        return getattr(importlib.import_module(module), name)

    def build(self, config: ExperimentConfig):
        """An unfitted estimator with the config's settings."""
        return self.estimator_class()(**self.parameters(config))


DECODER_TITLES = {"beam": "beam search", "best_path": "best path", "exact": "exact single label"}

# In the paper's order, then our extra baseline.
_METHODS = (
    Method(
        name="dummy",
        title="Dummy",
        long_title="Dummy (majority class)",
        estimator="models_app.ser.methods.dummy.DummyMajority",
        parameters=_dummy_parameters,
        frame_outputs=False,
        relative_cost=0.05,
    ),
    Method(
        name="framewise",
        title="Framewise",
        long_title="Framewise random forest",
        estimator="models_app.ser.methods.forests.FramewiseForest",
        parameters=_framewise_parameters,
        frame_outputs=True,
        relative_cost=1.0,
    ),
    Method(
        name="onelabel",
        title="One-label",
        long_title="One-label BLSTM",
        estimator="models_app.ser.methods.onelabel.OneLabelBLSTM",
        parameters=_onelabel_parameters,
        frame_outputs=False,
        relative_cost=4.0,
    ),
    Method(
        name="ctc",
        title="CTC",
        long_title="CTC BLSTM",
        estimator="models_app.ser.methods.ctc.CTCBLSTM",
        parameters=_ctc_parameters,
        frame_outputs=True,
        relative_cost=5.0,
        # "ctc" is the paper's decoder; the other two rows read the same network differently.
        decoders=(("", "beam"), ("_best_path", "best_path"), ("_exact", "exact")),
    ),
    Method(
        name="utterance_stats",
        title="Utterance statistics forest",
        long_title="Per-utterance statistics forest",
        estimator="models_app.ser.methods.forests.UtteranceStatsForest",
        parameters=_utterance_stats_parameters,
        frame_outputs=False,
        relative_cost=0.3,
    ),
)

METHODS: dict[str, Method] = {method.name: method for method in _METHODS}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)
RESULT_ROWS: dict[str, ResultRow] = {row.name: row for method in _METHODS for row in method.rows}
ROW_NAMES: tuple[str, ...] = tuple(RESULT_ROWS)  # Table 1's order
CTC_ROWS: tuple[str, ...] = tuple(row.name for row in METHODS["ctc"].rows)


def method_named(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHOD_NAMES)}") from None


def unknown_methods(names) -> list[str]:
    return [name for name in names if name not in METHODS]


def build_estimator(method: str, config: ExperimentConfig):
    """An unfitted estimator for ``method`` with the config's settings."""
    return method_named(method).build(config)


def row_title(name: str) -> str:
    """A row's short title; a row this registry does not know keeps its name."""
    return RESULT_ROWS[name].title if name in RESULT_ROWS else name


def row_long_title(name: str) -> str:
    return RESULT_ROWS[name].long_title if name in RESULT_ROWS else name
