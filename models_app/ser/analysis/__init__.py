"""The report analysis: every table and figure of the comparison report, computed without Django.

The web side turns database rows into the records of ``inputs`` and calls ``build_comparison``;
``csv_tables`` and ``plots`` turn its result into downloads and figures.
"""

from .config import AnalysisConfig
from .inputs import DecodedSpan, HumanJudgment, Prediction, UtteranceRecord
from .report import build_comparison

__all__ = ["AnalysisConfig", "DecodedSpan", "HumanJudgment", "Prediction", "UtteranceRecord", "build_comparison"]
