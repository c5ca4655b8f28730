"""Writing corpora: one transaction per corpus, idempotent, changed files noticed and reported.

``corpus_import`` is the one writer of corpora (importers, the demo corpus, test factories).
``corpus_import_from_source`` runs a format's parser on a release folder (or manifest) first.
"""

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.consensus import consensus_from_votes, dissent_for_label
from annotation.emotions import CANONICAL_EMOTIONS, canonical_emotion
from annotation.importers.audio_probe import AudioInfo, UnreadableAudio, probe_audio
from annotation.importers.common import SourceError
from annotation.importers.formats import corpus_format
from annotation.importers.records import SkippedItem, UtteranceRecord
from annotation.models import Corpus, ExpertVote, Session, Speaker, Utterance, corpus_name_validator

ProgressCallback = Callable[[int, int], None]  # (files probed, files to probe)

# Report entries that describe one run rather than the corpus: they do not make a re-import write.
_PER_RUN_REPORT_KEYS = ("created", "updated", "unchanged", "changed_audio", "corpus_changes", "imported_at")


class CorpusImportError(Exception):
    """The import as a whole cannot proceed; nothing was written."""


@dataclass
class ImportReport:
    corpus: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_audio: list[str] = field(default_factory=list)  # utterances whose file content changed
    skipped: list[SkippedItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rule_mismatches: list[str] = field(default_factory=list)  # corpus label != the half-of-raters rule
    corpus_changes: list[str] = field(default_factory=list)  # class set, folder, speaker genders
    classes: list[str] = field(default_factory=list)
    n_utterances: int = 0
    n_speakers: int = 0
    n_sessions: int = 0
    label_counts: dict[str, int] = field(default_factory=dict)  # class set first, '' = no label

    @property
    def changed_anything(self) -> bool:
        return bool(self.created or self.updated or self.corpus_changes)

    def as_json(self) -> dict:
        data = asdict(self)
        data["skipped"] = [asdict(item) for item in self.skipped]
        return data


def class_set(names: Sequence[str]) -> list[str]:
    """Canonical names, each once, in alphabetical order: a stable order for every probability
    vector and confusion matrix, whatever order the user typed (the paper's order is alphabetical)."""
    try:
        return sorted({canonical_emotion(name) for name in names if name.strip()})
    except ValueError as exc:
        raise CorpusImportError(f"class set: {exc}") from None


def _relative_audio_path(root: Path, given_root: Path, audio_path: Path) -> str:
    # Compare unresolved paths first: a release whose files are symlinks into a data store
    # (git-annex, DVC) must keep working. A path that leaves the folder lexically is refused.
    for base, path in (
        (Path(os.path.abspath(given_root)), Path(os.path.abspath(audio_path))),
        (root, audio_path.resolve()),
    ):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    raise CorpusImportError(f"audio file {audio_path} lies outside the corpus folder {root}; nothing was imported")


def _check_records(records: Sequence[UtteranceRecord]) -> None:
    """Mistakes a parser must not make: refuse the whole import before anything is read or written."""
    names = Counter(record.name for record in records)
    duplicates = sorted(n for n, count in names.items() if count > 1)
    if duplicates:
        raise CorpusImportError(f"utterance ids occur more than once: {', '.join(duplicates[:10])}")
    problems = []
    for record in records:
        emotions = [record.label] if record.label else []
        emotions += [category for vote in record.votes for category in vote.categories]
        unknown = sorted({e for e in emotions if e not in CANONICAL_EMOTIONS})
        if unknown:
            problems.append(f"{record.name}: not canonical emotion names: {', '.join(unknown)}")
        raters = Counter(vote.rater for vote in record.votes)
        twice = sorted(rater for rater, count in raters.items() if count > 1)
        if twice:
            problems.append(f"{record.name}: rater(s) {', '.join(twice)} vote twice; merge their categories")
    if problems:
        raise CorpusImportError("; ".join(problems[:10]) + (" ..." if len(problems) > 10 else ""))


def _labels_for(record: UtteranceRecord) -> tuple[str, str, int, int | None]:
    """(label, rule_label, n_raters, n_dissenting) for a record; '' = no label."""
    expert_votes = [vote.categories for vote in record.votes if not vote.is_self_evaluation]
    rule = consensus_from_votes(expert_votes)
    if record.label is not None:
        label = record.label
    elif record.label_from_votes:
        label = rule.label
    else:
        label = None  # the corpus decided there is no label (IEMOCAP's xxx)
    if label and expert_votes:
        n_dissenting = dissent_for_label(expert_votes, label).n_dissenting
    else:
        n_dissenting = None
    return label or "", rule.label or "", len(expert_votes), n_dissenting


def _rule_mismatch(name: str, label: str, rule_label: str, n_raters: int) -> str | None:
    if rule_label and label and rule_label != label:
        return f"{name}: corpus says {label}, rule says {rule_label}"
    if not rule_label and label and n_raters:
        return f"{name}: corpus says {label}, rule finds no majority"
    if rule_label and not label:
        return f"{name}: corpus has no label, rule says {rule_label}"
    return None


def _probe_all(
    records: Sequence[UtteranceRecord],
    *,
    root: Path,
    given_root: Path,
    report: ImportReport,
    progress: ProgressCallback | None,
) -> list[tuple[UtteranceRecord, AudioInfo, str]]:
    probed = []
    total = len(records)
    for done, record in enumerate(records, start=1):
        relative_path = _relative_audio_path(root, given_root, Path(record.audio_path))
        try:
            probed.append((record, probe_audio(Path(record.audio_path)), relative_path))
        except UnreadableAudio as exc:
            report.skipped.append(SkippedItem(path=str(record.audio_path), reason=str(exc)))
        if progress:
            progress(done, total)
    return probed


def _vote_key(rater: str, categories, is_self: bool) -> tuple:
    return (rater, tuple(sorted(categories)), is_self)


def _comparable(report_json: dict) -> str:
    """The part of a stored report that describes the corpus, in a form that compares equal
    after a JSON round trip (and whatever key order the database keeps)."""
    kept = {key: value for key, value in report_json.items() if key not in _PER_RUN_REPORT_KEYS}
    return json.dumps(kept, sort_keys=True, default=str)


def corpus_import(
    *,
    name: str,
    format: str,
    source_path: Path,
    classes: Sequence[str],
    records: Sequence[UtteranceRecord],
    skipped: Sequence[SkippedItem] = (),
    warnings: Sequence[str] = (),
    description: str = "",
    is_synthetic: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Create or update a corpus from parsed records.

    Audio is read and checked before the transaction opens; unreadable files are skipped and
    listed with their reason while the rest imports. Everything is written in one transaction,
    so a failure leaves the database as it was. Running the same import twice writes nothing at
    all (no row is touched); an audio file whose content changed since the last import is updated
    and reported. Utterances that disappeared from the source are kept (nothing is lost) and
    reported. ``Corpus.import_report`` describes the last import that changed something.
    """
    try:
        corpus_name_validator(name)
    except ValidationError as exc:
        raise CorpusImportError(f"corpus name {name!r} is not valid: {' '.join(exc.messages)}") from None
    given_root = Path(source_path)
    root = given_root.resolve()
    if not root.is_dir():
        raise CorpusImportError(f"corpus folder not found: {given_root}")
    if format not in Corpus.Format.values:
        raise CorpusImportError(f"unknown corpus format {format!r}")
    classes = class_set(classes)
    _check_records(records)
    report = ImportReport(corpus=name, skipped=list(skipped), warnings=list(warnings), classes=classes)
    probed = _probe_all(records, root=root, given_root=given_root, report=report, progress=progress)

    with transaction.atomic():
        corpus = Corpus.objects.select_for_update().filter(name=name).first()
        corpus_is_new = corpus is None
        if corpus_is_new:
            if not probed:
                reasons = "; ".join(item.describe() for item in report.skipped[:10])
                raise CorpusImportError(
                    f"nothing to import: none of the {len(records)} utterance(s) found could be read"
                    + (f" ({reasons})" if reasons else "")
                )
            corpus = Corpus.objects.create(
                name=name,
                format=format,
                source_path=str(root),
                classes=classes,
                description=description,
                is_synthetic=is_synthetic,
            )
        else:
            _update_corpus_fields(
                corpus,
                report,
                format=format,
                root=root,
                classes=classes,
                description=description,
                is_synthetic=is_synthetic,
            )
        _write_utterances(corpus, probed, report)

        missing = sorted(set(corpus.utterances.values_list("name", flat=True)) - {record.name for record in records})
        if missing:
            report.warnings.append(
                f"{len(missing)} utterance(s) imported earlier are no longer in the source and were kept: "
                + ", ".join(missing[:10])
                + (" ..." if len(missing) > 10 else "")
            )
        _count(corpus, report)
        new_report = {**report.as_json(), "imported_at": timezone.now().isoformat()}
        if corpus_is_new or report.changed_anything or _comparable(corpus.import_report) != _comparable(new_report):
            corpus.import_report = new_report
            corpus.save()
    return report


def _update_corpus_fields(
    corpus: Corpus,
    report: ImportReport,
    *,
    format: str,
    root: Path,
    classes: list[str],
    description: str,
    is_synthetic: bool,
) -> None:
    if corpus.format != format:
        raise CorpusImportError(f"corpus {corpus.name!r} exists with format {corpus.format!r}; choose another --name")
    if corpus.source_path != str(root):
        report.corpus_changes.append(f"folder: {corpus.source_path} -> {root}")
        corpus.source_path = str(root)
    if list(corpus.classes) != classes:
        report.corpus_changes.append(f"class set: {', '.join(corpus.classes) or '(none)'} -> {', '.join(classes)}")
        corpus.classes = classes
    if description and corpus.description != description:
        report.corpus_changes.append("description")
        corpus.description = description
    if corpus.is_synthetic != is_synthetic:
        report.corpus_changes.append(f"synthetic: {corpus.is_synthetic} -> {is_synthetic}")
        corpus.is_synthetic = is_synthetic


def _write_utterances(
    corpus: Corpus, probed: list[tuple[UtteranceRecord, AudioInfo, str]], report: ImportReport
) -> None:
    speakers = {speaker.code: speaker for speaker in corpus.speakers.all()}
    sessions = {session.code: session for session in corpus.sessions.all()}
    existing = {utterance.name: utterance for utterance in corpus.utterances.prefetch_related("votes")}
    gender_given: dict[str, str] = {}
    new_utterances: list[Utterance] = []
    votes_to_write: dict[str, list[tuple]] = {}  # utterance name -> vote keys, for new or changed votes

    for record, info, relative_path in probed:
        speaker = _speaker(corpus, speakers, record, gender_given, report)
        session = sessions.get(record.session)
        if session is None:
            session = sessions[record.session] = Session.objects.create(corpus=corpus, code=record.session)

        label, rule_label, n_raters, n_dissenting = _labels_for(record)
        mismatch = _rule_mismatch(record.name, label, rule_label, n_raters)
        if mismatch:
            report.rule_mismatches.append(mismatch)
        values = {
            "speaker_id": speaker.pk,
            "session_id": session.pk,
            "audio_path": relative_path,
            "audio_sha256": info.sha256,
            "duration_s": info.duration_s,
            "sample_rate": info.sample_rate,
            "n_channels": info.n_channels,
            "transcript": record.transcript,
            "start_s": record.start_s,
            "end_s": record.end_s,
            "label": label,
            "source_label": record.source_label,
            "rule_label": rule_label,
            "n_raters": n_raters,
            "n_dissenting": n_dissenting,
            "emotion_spans": list(record.emotion_spans),
        }
        # Keep each rater's categories in the order given; compare as sets.
        wanted_votes = [(vote.rater, list(vote.categories), vote.is_self_evaluation) for vote in record.votes]
        utterance = existing.get(record.name)
        if utterance is None:
            new_utterances.append(Utterance(corpus=corpus, name=record.name, **values))
            votes_to_write[record.name] = wanted_votes
            report.created += 1
            continue
        changed_fields = [key for key, value in values.items() if getattr(utterance, key) != value]
        votes_changed = sorted(_vote_key(*vote) for vote in wanted_votes) != sorted(
            _vote_key(vote.rater, vote.categories, vote.is_self_evaluation) for vote in utterance.votes.all()
        )
        if not changed_fields and not votes_changed:
            report.unchanged += 1
            continue
        if "audio_sha256" in changed_fields:
            report.changed_audio.append(record.name)
        if changed_fields:
            for key in changed_fields:
                setattr(utterance, key, values[key])
            utterance.save(update_fields=[key.removesuffix("_id") for key in changed_fields])
        if votes_changed:
            utterance.votes.all().delete()
            votes_to_write[record.name] = wanted_votes
        report.updated += 1

    Utterance.objects.bulk_create(new_utterances, batch_size=500)
    if votes_to_write:
        ids = dict(corpus.utterances.values_list("name", "id"))
        ExpertVote.objects.bulk_create(
            (
                ExpertVote(utterance_id=ids[name], rater=rater, categories=categories, is_self_evaluation=is_self)
                for name, votes in votes_to_write.items()
                for rater, categories, is_self in votes
            ),
            batch_size=1000,
        )


def _speaker(
    corpus: Corpus,
    speakers: dict[str, Speaker],
    record: UtteranceRecord,
    gender_given: dict[str, str],
    report: ImportReport,
) -> Speaker:
    gender = record.speaker_gender
    if gender:
        first = gender_given.setdefault(record.speaker, gender)
        if first != gender:
            report.warnings.append(
                f"speaker {record.speaker}: gender {gender} on {record.name} contradicts {first} given earlier; "
                f"kept {first}"
            )
            gender = first
    speaker = speakers.get(record.speaker)
    if speaker is None:
        speaker = speakers[record.speaker] = Speaker.objects.create(corpus=corpus, code=record.speaker, gender=gender)
    elif gender and speaker.gender != gender:
        report.corpus_changes.append(f"speaker {speaker.code}: gender {speaker.gender or '(unknown)'} -> {gender}")
        speaker.gender = gender
        speaker.save(update_fields=["gender"])
    return speaker


def _count(corpus: Corpus, report: ImportReport) -> None:
    report.n_utterances = corpus.utterances.count()
    report.n_speakers = corpus.speakers.count()
    report.n_sessions = corpus.sessions.count()
    counts = Counter(corpus.utterances.values_list("label", flat=True))
    ordered = {label: counts.get(label, 0) for label in report.classes}
    for label, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        ordered.setdefault(label, n)
    report.label_counts = ordered
    empty = [label for label in report.classes if not counts.get(label)]
    if empty:
        report.warnings.append(f"class(es) with no utterances in this corpus: {', '.join(empty)}")


def corpus_import_from_source(
    *,
    format: str,
    path: Path,
    name: str | None = None,
    classes: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Parse a release folder (a CSV file for ``manifest``) and import it.

    ``name`` defaults to the format's name (the CSV's stem for a manifest). ``classes`` defaults
    to the class set the corpus already has, else the format's default.
    """
    try:
        source_format = corpus_format(format)
    except KeyError as exc:
        raise CorpusImportError(exc.args[0]) from None
    path = Path(path)
    if not path.exists():
        what = "manifest" if source_format.source_is_file else "corpus folder"
        raise CorpusImportError(f"{what} not found: {path}")
    try:
        parsed = source_format.parse(path)
    except SourceError as exc:
        raise CorpusImportError(str(exc)) from None
    except OSError as exc:
        raise CorpusImportError(f"cannot read {exc.filename or path}: {exc.strerror or exc}") from None
    name = name or source_format.default_corpus_name(path)
    if classes is None:
        current = Corpus.objects.filter(name=name).values_list("classes", flat=True).first()
        classes = current if current is not None else source_format.default_classes(parsed)
    return corpus_import(
        name=name,
        format=source_format.name,
        source_path=source_format.source_root(path),
        classes=classes,
        records=parsed.records,
        skipped=parsed.skipped,
        warnings=parsed.warnings,
        progress=progress,
    )
