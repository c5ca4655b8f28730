"""Every setting of the report analysis in one frozen object, with the reason for each default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalysisConfig:
    # Seeds the bootstrap resamples and the coin that breaks ties between human answers, so a
    # report computed twice from the same data gives the same numbers.
    seed: int = 0
    # 2000 resamples put the Monte Carlo error of a 95% percentile bound near 0.3 percentage
    # points for accuracies on a few hundred utterances, well below the width of the interval.
    n_bootstrap: int = 2000
    # The usual two-sided 95% interval.
    confidence: float = 0.95
    # At or below this many discordant pairs (b + c) McNemar's chi-square approximation is poor,
    # so the exact binomial test is used (the common rule of thumb is b + c < 25).
    mcnemar_exact_max_discordant: int = 25
    # Answers per bin of the learning curve: 10 gives a few bins from a single assessor's session
    # of some tens of answers while keeping each bin's accuracy meaningful.
    answer_index_bin_width: int = 10
    # Fleiss' kappa needs the same number of raters on every utterance; a campaign's default
    # target is 2 judgments per utterance (paper 4.6: "at least 2 assessors").
    fleiss_raters_per_utterance: int = 2
    # Standard deviation across folds or assessors uses n - 1: the folds are a sample of the ways
    # the corpus could have been split, not the whole population.
    std_ddof: int = 1

    def __post_init__(self) -> None:
        if self.n_bootstrap < 1:
            raise ValueError(f"n_bootstrap must be at least 1, got {self.n_bootstrap}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie strictly between 0 and 1, got {self.confidence}")
        if self.mcnemar_exact_max_discordant < 0:
            raise ValueError("mcnemar_exact_max_discordant must not be negative")
        if self.answer_index_bin_width < 1:
            raise ValueError(f"answer_index_bin_width must be at least 1, got {self.answer_index_bin_width}")
        if self.fleiss_raters_per_utterance < 2:
            raise ValueError("Fleiss' kappa needs at least 2 raters per utterance")
        if self.std_ddof not in (0, 1):
            raise ValueError(f"std_ddof must be 0 or 1, got {self.std_ddof}")
