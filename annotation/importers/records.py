"""What a parser hands to the import service: plain data, no database."""

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class VoteRecord:
    rater: str
    categories: tuple[str, ...]  # canonical emotion names
    is_self_evaluation: bool = False


@dataclass
class UtteranceRecord:
    name: str  # the corpus's own utterance id, unique within the corpus
    speaker: str
    session: str  # the cross-validation group; the speaker's code where the corpus has no sessions
    audio_path: Path  # absolute path of the audio file
    label: str | None = None  # canonical label given by the corpus, None = none given
    # True: without a given label the half-of-raters rule over the expert votes decides it.
    # False: the corpus decided (IEMOCAP's header, EmoDB/RAVDESS file names); None then means "no label".
    label_from_votes: bool = True
    source_label: str = ""  # the label as the corpus spells it
    votes: list[VoteRecord] = field(default_factory=list)
    speaker_gender: str = ""  # "F", "M" or ""
    transcript: str = ""
    start_s: float | None = None
    end_s: float | None = None
    emotion_spans: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedItem:
    """Something the import left out, and why. ``line`` for a malformed annotation block."""

    path: str
    reason: str
    line: int | None = None

    def describe(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass
class ParseResult:
    records: list[UtteranceRecord] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
