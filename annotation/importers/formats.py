"""The corpus formats ``import_corpus`` knows: FORMAT -> parser, default class set, default name."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from annotation.emotions import PAPER_CLASSES
from annotation.importers import emodb, ravdess
from annotation.importers.emodb import parse_emodb
from annotation.importers.iemocap import parse_iemocap
from annotation.importers.manifest import labels_found, parse_manifest
from annotation.importers.ravdess import parse_ravdess
from annotation.importers.records import ParseResult


@dataclass(frozen=True)
class CorpusFormat:
    name: str  # the FORMAT argument, also Corpus.format
    description: str
    parse: Callable[[Path], ParseResult]
    # The class set when the user names none; a function of the parse for formats whose labels
    # are not known in advance (a manifest).
    default_classes: Callable[[ParseResult], tuple[str, ...]]
    source_is_file: bool = False  # True: PATH is a file and the audio is relative to its folder

    def source_root(self, path: Path) -> Path:
        """The folder the corpus's audio paths are stored relative to."""
        return path.parent if self.source_is_file else path

    def default_corpus_name(self, path: Path) -> str:
        return path.stem if self.source_is_file else self.name


FORMATS: dict[str, CorpusFormat] = {
    corpus_format.name: corpus_format
    for corpus_format in (
        CorpusFormat(
            name="iemocap",
            description="IEMOCAP_full_release folder (Session1 ... Session5)",
            parse=parse_iemocap,
            default_classes=lambda result: PAPER_CLASSES,  # the paper's four; excited not merged
        ),
        CorpusFormat(
            name="emodb",
            description="Berlin EmoDB folder holding wav/<SS><TTT><E><V>.wav",
            parse=parse_emodb,
            default_classes=lambda result: emodb.DEFAULT_CLASSES,
        ),
        CorpusFormat(
            name="ravdess",
            description="RAVDESS folder holding Actor_NN/MM-VV-EE-II-SS-RR-AA.wav",
            parse=parse_ravdess,
            default_classes=lambda result: ravdess.DEFAULT_CLASSES,
        ),
        CorpusFormat(
            name="manifest",
            description="CSV file path,speaker[,session][,label][,votes], paths relative to its folder",
            parse=parse_manifest,
            default_classes=labels_found,
            source_is_file=True,
        ),
    )
}


def corpus_format(name: str) -> CorpusFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown corpus format {name!r}; known: {', '.join(FORMATS)}") from None
