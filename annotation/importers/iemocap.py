"""IEMOCAP (``IEMOCAP_full_release``): one record per EmoEvaluation block.

Layout and line formats are described in docs/corpora.md. What we take from each block:
the utterance id, its ``[start - end]`` times in the dialog, the header's majority code (kept as
THE label, what the paper used; ``xxx`` = the corpus found no majority = no label), and every
``C-*`` categorical vote line (``C-E*`` experts, ``C-F*``/``C-M*`` the speaker's
self-evaluation). Audio comes from ``sentences/wav/<dialog>/<utterance>.wav``, transcripts from
``dialog/transcriptions/<dialog>.txt``. A malformed block is reported with file and line and
left out while the rest imports.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from annotation.emotions import IEMOCAP_CODES, IEMOCAP_NO_MAJORITY, canonical_emotion
from annotation.importers.common import SourceError, apple_double_warning, is_apple_double, require_folder
from annotation.importers.records import ParseResult, SkippedItem, UtteranceRecord, VoteRecord

_SESSION_FOLDER = re.compile(r"^Session(?P<number>[1-9])$")
_BLOCK_HEADER = re.compile(
    r"^\[(?P<start>\d+\.\d+) - (?P<end>\d+\.\d+)\]\t(?P<utterance>\S+)\t(?P<code>\S+)\t\[(?P<vad>[^\]]*)\]$"
)
_UTTERANCE_ID = re.compile(
    r"^Ses0(?P<session>[1-9])[MF]_(?:impro|script)\d{2}[ab]?(?:_\d[b]?)?_(?P<sex>[MF])[X0-9]{2}[0-9]$"
)
# ``C-E2:\tNeutral; Anger;\t(comment)``; the comment is free text and not used.
_CATEGORY_LINE = re.compile(r"^C-(?P<rater>[A-Z]+\d+):\t(?P<categories>[^\t]*)(?:\t\(.*\))?$")
_ATTRIBUTE_LINE = re.compile(r"^A-[A-Z]+\d+:\t")
_TRANSCRIPT_LINE = re.compile(r"^(?P<utterance>\S+) \[(?P<start>\d+\.\d+)-(?P<end>\d+\.\d+)\]:(?P<text>.*)$")


class MalformedBlock(Exception):
    def __init__(self, reason: str, line: int):
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class _Block:
    first_line: int  # 1-based line number of the block's header line
    lines: list[str] = field(default_factory=list)


def _read_text(path: Path, warnings: list[str]) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # The release is ASCII; a stray byte should cost one character, not the whole dialog.
        text = data.decode("latin-1")
        warnings.append(f"{path}: not valid UTF-8, read as Latin-1")
    return text.replace("\r\n", "\n")


def _blocks(text: str) -> list[_Block]:
    """Groups of consecutive non-blank lines; the ``% [START_TIME - ...`` file header is dropped."""
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip()  # trailing spaces carry nothing and would defeat the line patterns
        if not line:
            current = None
            continue
        if current is None:
            if line.startswith("%"):
                continue
            current = _Block(first_line=number)
            blocks.append(current)
        current.lines.append(line)
    return blocks


def _parse_votes(block: _Block) -> tuple[list[VoteRecord], list[str]]:
    categories_by_rater: dict[str, list[str]] = {}
    self_evaluation: dict[str, bool] = {}
    notes = []
    for offset, line in enumerate(block.lines[1:], start=1):
        number = block.first_line + offset
        if _ATTRIBUTE_LINE.match(line):
            continue  # dimensional ratings (val/act/dom): not stored
        match = _CATEGORY_LINE.match(line)
        if not match:
            raise MalformedBlock(f"unrecognised line {line[:60]!r} (expected C-*: or A-*: ratings)", number)
        rater = match["rater"]
        if rater.startswith("E"):
            is_self = False
        elif rater.startswith(("F", "M")):
            is_self = True
        else:
            raise MalformedBlock(
                f"rater C-{rater} is neither an expert (C-E*) nor a self-evaluation (C-F*, C-M*)", number
            )
        names = [name.strip() for name in match["categories"].split(";") if name.strip()]
        if not names:
            raise MalformedBlock(f"vote line of C-{rater} names no category", number)
        try:
            categories = [canonical_emotion(name) for name in names]
        except ValueError as exc:
            raise MalformedBlock(f"vote line of C-{rater}: {exc}", number) from None
        if rater in categories_by_rater:
            notes.append(f"line {number}: C-{rater} votes twice in one block; categories merged")
        merged = categories_by_rater.setdefault(rater, [])
        merged.extend(c for c in categories if c not in merged)
        self_evaluation[rater] = is_self
    votes = [
        VoteRecord(rater=rater, categories=tuple(categories), is_self_evaluation=self_evaluation[rater])
        for rater, categories in categories_by_rater.items()
    ]
    return votes, notes


@dataclass(frozen=True)
class _ParsedBlock:
    utterance: str
    dialog: str
    session_number: int
    sex: str
    start_s: float
    end_s: float
    code: str
    votes: list[VoteRecord]


def _parse_block(block: _Block, *, dialog: str, session_number: int) -> tuple[_ParsedBlock, list[str]]:
    header = _BLOCK_HEADER.match(block.lines[0])
    if not header:
        raise MalformedBlock(
            "block header is not '[start - end]<TAB>utterance<TAB>code<TAB>[V, A, D]'", block.first_line
        )
    utterance = header["utterance"]
    id_match = _UTTERANCE_ID.match(utterance)
    if not id_match:
        raise MalformedBlock(f"{utterance!r} is not an IEMOCAP utterance id", block.first_line)
    utterance_dialog = utterance.rsplit("_", 1)[0]
    if utterance_dialog != dialog:
        raise MalformedBlock(f"{utterance} belongs to dialog {utterance_dialog}, not {dialog}", block.first_line)
    if int(id_match["session"]) != session_number:
        raise MalformedBlock(
            f"{utterance} belongs to session {id_match['session']}, not Session{session_number}", block.first_line
        )
    code = header["code"]
    if code != IEMOCAP_NO_MAJORITY and code not in IEMOCAP_CODES:
        raise MalformedBlock(f"unknown majority code {code!r}", block.first_line)
    start_s, end_s = float(header["start"]), float(header["end"])
    if end_s <= start_s:
        raise MalformedBlock(f"end time {end_s} is not after start time {start_s}", block.first_line)
    try:
        vad = [float(value) for value in header["vad"].split(",")]
    except ValueError:
        vad = []
    if len(vad) != 3:
        raise MalformedBlock("[V, A, D] does not hold three numbers", block.first_line)
    votes, notes = _parse_votes(block)
    parsed = _ParsedBlock(
        utterance=utterance,
        dialog=dialog,
        session_number=session_number,
        sex=id_match["sex"],
        start_s=start_s,
        end_s=end_s,
        code=code,
        votes=votes,
    )
    return parsed, notes


def _transcripts(path: Path, warnings: list[str]) -> dict[str, str]:
    """utterance id -> text. Lines with other shapes (``M: ...``) carry no utterance and are ignored."""
    texts = {}
    for line in _read_text(path, warnings).split("\n"):
        match = _TRANSCRIPT_LINE.match(line)
        if match:
            texts[match["utterance"]] = match["text"].strip()
    return texts


def _session_folders(root: Path) -> list[tuple[int, Path]]:
    folders = []
    for path in sorted(root.iterdir()):
        match = _SESSION_FOLDER.match(path.name)
        if match and path.is_dir():
            folders.append((int(match["number"]), path))
    if not folders:
        raise SourceError(f"no Session1 ... Session5 folders in {root}: point at the IEMOCAP_full_release folder")
    return folders


def parse_iemocap(root: Path) -> ParseResult:
    root = require_folder(Path(root), "IEMOCAP folder")
    result = ParseResult()
    sessions = _session_folders(root)
    missing = sorted(set(range(1, 6)) - {number for number, _ in sessions})
    if missing:
        result.warnings.append("sessions missing from the release: " + ", ".join(f"Session{n}" for n in missing))
    first_seen: dict[str, str] = {}
    n_apple_double = 0
    n_without_transcript = 0
    for session_number, session_folder in sessions:
        evaluation_folder = session_folder / "dialog" / "EmoEvaluation"
        if not evaluation_folder.is_dir():
            result.skipped.append(
                SkippedItem(path=str(session_folder), reason="no dialog/EmoEvaluation folder: session left out")
            )
            continue
        wav_root = session_folder / "sentences" / "wav"
        transcript_folder = session_folder / "dialog" / "transcriptions"
        seen_in_session: set[str] = set()
        for evaluation_file in sorted(evaluation_folder.glob("*.txt")):
            if is_apple_double(evaluation_file):
                n_apple_double += 1
                continue
            dialog = evaluation_file.stem
            transcript_file = transcript_folder / f"{dialog}.txt"
            if transcript_file.is_file():
                transcripts = _transcripts(transcript_file, result.warnings)
            else:
                transcripts = {}
                result.warnings.append(f"no transcript file {transcript_file}: utterances of {dialog} have none")
            for block in _blocks(_read_text(evaluation_file, result.warnings)):
                where = f"{evaluation_file}:{block.first_line}"
                try:
                    parsed, notes = _parse_block(block, dialog=dialog, session_number=session_number)
                except MalformedBlock as exc:
                    result.skipped.append(
                        SkippedItem(path=str(evaluation_file), reason=f"malformed block: {exc.reason}", line=exc.line)
                    )
                    continue
                result.warnings.extend(f"{evaluation_file}:{note.removeprefix('line ')}" for note in notes)
                if parsed.utterance in first_seen:
                    result.skipped.append(
                        SkippedItem(
                            path=str(evaluation_file),
                            reason=f"{parsed.utterance} already has a block at {first_seen[parsed.utterance]}",
                            line=block.first_line,
                        )
                    )
                    continue
                first_seen[parsed.utterance] = where
                seen_in_session.add(parsed.utterance)
                audio_path = wav_root / dialog / f"{parsed.utterance}.wav"
                if not audio_path.is_file():
                    result.skipped.append(
                        SkippedItem(
                            path=str(evaluation_file),
                            reason=f"audio file not found: {audio_path.relative_to(root)}",
                            line=block.first_line,
                        )
                    )
                    continue
                transcript = transcripts.get(parsed.utterance, "")
                if parsed.utterance not in transcripts:
                    n_without_transcript += 1
                result.records.append(
                    UtteranceRecord(
                        name=parsed.utterance,
                        speaker=f"Ses0{session_number}{parsed.sex}",
                        session=f"Ses0{session_number}",
                        audio_path=audio_path,
                        label=IEMOCAP_CODES.get(parsed.code),  # None for xxx
                        label_from_votes=False,  # the header is the corpus's decision, xxx included
                        source_label=parsed.code,
                        votes=parsed.votes,
                        speaker_gender=parsed.sex,
                        transcript=transcript,
                        start_s=parsed.start_s,
                        end_s=parsed.end_s,
                    )
                )
        n_apple_double += _count_unannotated_audio(wav_root, seen_in_session, result.warnings)
    if n_without_transcript:
        result.warnings.append(f"{n_without_transcript} utterance(s) have no line in their transcription file")
    result.warnings.extend(apple_double_warning(n_apple_double))
    return result


def _count_unannotated_audio(wav_root: Path, annotated: set[str], warnings: list[str]) -> int:
    """Warn about utterance wavs that no EmoEvaluation block names (they are not imported);
    returns the number of AppleDouble files seen there."""
    if not wav_root.is_dir():
        return 0
    n_apple_double = 0
    unannotated = []
    for dialog_folder in sorted(p for p in wav_root.iterdir() if p.is_dir()):
        for path in dialog_folder.iterdir():
            if path.suffix.lower() != ".wav":
                continue
            if is_apple_double(path):
                n_apple_double += 1
            elif path.stem not in annotated:
                unannotated.append(path.stem)
    if unannotated:
        unannotated.sort()
        warnings.append(
            f"{len(unannotated)} audio file(s) in {wav_root} have no importable EmoEvaluation block "
            "and were not imported: " + ", ".join(unannotated[:5]) + (" ..." if len(unannotated) > 5 else "")
        )
    return n_apple_double
