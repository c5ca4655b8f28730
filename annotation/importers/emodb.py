"""Berlin EmoDB: ``wav/<SS><TTT><E><V>.wav`` (``03a01Fa.wav``).

``SS`` speaker, ``TTT`` text, ``E`` emotion (German initial), ``V`` version. The corpus has no
per-rater votes (its perception test kept recordings recognised by >= 80% of 20 listeners), so
the label comes from the file name. There are no recording sessions: each speaker is its own
cross-validation group.
"""

import re
from pathlib import Path

from annotation.importers.common import SourceError, apple_double_warning, require_folder, wav_files
from annotation.importers.records import ParseResult, SkippedItem, UtteranceRecord

# German initials: Wut, Langeweile, Ekel, Angst, Freude, Trauer, Neutral.
EMOTION_LETTERS = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
# From the corpus documentation: speakers 03, 10, 11, 12, 15 are male, 08, 09, 13, 14, 16 female.
SPEAKER_GENDERS = {
    "03": "M", "10": "M", "11": "M", "12": "M", "15": "M",
    "08": "F", "09": "F", "13": "F", "14": "F", "16": "F",
}  # male speakers on one row, female on the other  # fmt: skip
# The ten sentences, from the corpus documentation (Burkhardt et al., Interspeech 2005).
TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
DEFAULT_CLASSES = ("anger", "happiness", "neutral", "sadness")

_FILE_NAME = re.compile(r"^(?P<speaker>\d{2})(?P<text>[ab]\d{2})(?P<emotion>[A-Z])(?P<version>[a-z])$")


def _audio_folder(root: Path) -> Path:
    """The release's ``wav/`` folder; a folder that holds the wavs itself is accepted too."""
    wav_folder = root / "wav"
    return wav_folder if wav_folder.is_dir() else root


def parse_emodb(root: Path) -> ParseResult:
    root = require_folder(Path(root), "EmoDB folder")
    folder = _audio_folder(root)
    wavs, n_apple_double = wav_files(folder)
    if not wavs:
        raise SourceError(f"no .wav files in {folder}: point at the EmoDB folder that holds wav/")
    result = ParseResult(warnings=apple_double_warning(n_apple_double))
    unknown_speakers = set()
    for path in wavs:
        match = _FILE_NAME.match(path.stem)
        if not match:
            result.skipped.append(
                SkippedItem(
                    path=str(path), reason="name does not follow EmoDB's <SS><TTT><E><V>.wav (e.g. 03a01Fa.wav)"
                )
            )
            continue
        letter = match["emotion"]
        if letter not in EMOTION_LETTERS:
            result.skipped.append(
                SkippedItem(
                    path=str(path),
                    reason=f"unknown emotion letter {letter!r} (known: {', '.join(sorted(EMOTION_LETTERS))})",
                )
            )
            continue
        speaker = match["speaker"]
        if speaker not in SPEAKER_GENDERS:
            unknown_speakers.add(speaker)
        result.records.append(
            UtteranceRecord(
                name=path.stem,
                speaker=speaker,
                session=speaker,  # no sessions: cross-validation groups by speaker
                audio_path=path,
                label=EMOTION_LETTERS[letter],
                label_from_votes=False,
                source_label=letter,
                speaker_gender=SPEAKER_GENDERS.get(speaker, ""),
                transcript=TEXTS.get(match["text"], ""),
            )
        )
    if unknown_speakers:
        result.warnings.append(
            "speakers not in EmoDB's documented list, gender left unknown: " + ", ".join(sorted(unknown_speakers))
        )
    return result
