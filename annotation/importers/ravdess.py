"""RAVDESS: ``Actor_NN/MM-VV-EE-II-SS-RR-AA.wav`` (``Actor_01/03-01-05-02-01-01-01.wav``).

MM modality (01 audio-video, 02 video only, 03 audio only), VV vocal channel (01 speech,
02 song), EE emotion, II intensity (01 normal, 02 strong), SS statement, RR repetition,
AA actor (odd = male). Labels come from the file name (acted emotions, no per-rater votes);
each actor is its own speaker and cross-validation group. Intensity is not a label: it stays
readable in the utterance name.
"""

import re
from pathlib import Path

from annotation.importers.common import SourceError, apple_double_warning, require_folder, wav_files
from annotation.importers.records import ParseResult, SkippedItem, UtteranceRecord

EMOTION_CODES = {
    "01": "neutral",
    "02": "calm",
    "03": "happiness",
    "04": "sadness",
    "05": "anger",
    "06": "fear",
    "07": "disgust",
    "08": "surprise",
}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
# Calm stays its own label outside the class set (docs/corpora.md says why).
DEFAULT_CLASSES = ("anger", "happiness", "neutral", "sadness")

_ACTOR_FOLDER = re.compile(r"^Actor_(?P<actor>\d{2})$")
_FILE_NAME = re.compile(
    r"^(?P<modality>\d{2})-(?P<channel>\d{2})-(?P<emotion>\d{2})-(?P<intensity>\d{2})"
    r"-(?P<statement>\d{2})-(?P<repetition>\d{2})-(?P<actor>\d{2})$"
)


def _problem_with(fields: dict[str, str], folder_actor: str) -> str | None:
    """Why a well-shaped name cannot be imported, or None."""
    if fields["modality"] == "02":
        return "modality 02 is video only (no audio track)"
    if fields["modality"] not in ("01", "03"):
        return f"unknown modality {fields['modality']}"
    if fields["channel"] == "02":
        return "vocal channel 02 is song; emolab imports speech (vocal channel 01)"
    if fields["channel"] != "01":
        return f"unknown vocal channel {fields['channel']}"
    if fields["emotion"] not in EMOTION_CODES:
        return f"unknown emotion code {fields['emotion']} (known: 01-08)"
    if fields["intensity"] not in ("01", "02"):
        return f"unknown intensity {fields['intensity']}"
    if fields["statement"] not in STATEMENTS:
        return f"unknown statement {fields['statement']}"
    if fields["actor"] != folder_actor:
        return f"actor {fields['actor']} in the name, but the file is in Actor_{folder_actor}"
    if int(fields["actor"]) == 0:
        return "actor 00 does not exist"
    return None


def parse_ravdess(root: Path) -> ParseResult:
    root = require_folder(Path(root), "RAVDESS folder")
    actor_folders = [
        (match["actor"], path)
        for path in sorted(root.iterdir())
        if path.is_dir() and (match := _ACTOR_FOLDER.match(path.name))
    ]
    if not actor_folders:
        raise SourceError(f"no Actor_NN folders in {root}: point at the folder that holds Actor_01 ... Actor_24")
    result = ParseResult()
    n_apple_double = 0
    for folder_actor, folder in actor_folders:
        wavs, n_skipped_metadata = wav_files(folder)
        n_apple_double += n_skipped_metadata
        for path in wavs:
            match = _FILE_NAME.match(path.stem)
            if not match:
                result.skipped.append(
                    SkippedItem(path=str(path), reason="name does not follow RAVDESS's MM-VV-EE-II-SS-RR-AA.wav")
                )
                continue
            fields = match.groupdict()
            problem = _problem_with(fields, folder_actor)
            if problem:
                result.skipped.append(SkippedItem(path=str(path), reason=problem))
                continue
            actor = f"Actor_{fields['actor']}"
            result.records.append(
                UtteranceRecord(
                    name=path.stem,
                    speaker=actor,
                    session=actor,
                    audio_path=path,
                    label=EMOTION_CODES[fields["emotion"]],
                    label_from_votes=False,
                    source_label=fields["emotion"],
                    speaker_gender="M" if int(fields["actor"]) % 2 else "F",
                    transcript=STATEMENTS[fields["statement"]],
                )
            )
    if not result.records and not result.skipped:
        raise SourceError(f"no .wav files in the Actor_NN folders of {root}")
    result.warnings.extend(apple_double_warning(n_apple_double))
    return result
