"""Writing corpora: one transaction per corpus, idempotent, changed files noticed and reported."""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from annotation.consensus import consensus_from_votes, dissent_for_label
from annotation.importers.audio_probe import AudioInfo, UnreadableAudio, probe_audio
from annotation.importers.records import SkippedItem, UtteranceRecord
from annotation.models import Corpus, ExpertVote, Session, Speaker, Utterance

ProgressCallback = Callable[[int, int], None]  # (done, total)


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
    n_utterances: int = 0
    n_speakers: int = 0
    n_sessions: int = 0
    label_counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed_anything(self) -> bool:
        return bool(self.created or self.updated)

    def as_json(self) -> dict:
        data = asdict(self)
        data["skipped"] = [asdict(item) for item in self.skipped]
        return data


def _relative_audio_path(root: Path, audio_path: Path) -> str:
    resolved = audio_path.resolve()
    try:
        return str(resolved.relative_to(root))
    except ValueError:
        raise CorpusImportError(f"audio file {audio_path} lies outside the corpus folder {root}") from None


def _labels_for(record: UtteranceRecord) -> tuple[str, str, int, int | None]:
    """(label, rule_label, n_raters, n_dissenting) for a record."""
    expert_votes = [vote.categories for vote in record.votes if not vote.is_self_evaluation]
    rule = consensus_from_votes(expert_votes)
    label = record.label if record.label is not None else rule.label
    if label and expert_votes:
        n_dissenting = dissent_for_label(expert_votes, label).n_dissenting
    else:
        n_dissenting = None
    return label or "", rule.label or "", len(expert_votes), n_dissenting


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

    Audio is read and checked before the transaction opens; unreadable files are skipped and listed
    with their reason while the rest imports. Running the same import twice changes nothing; an
    audio file whose content changed since the last import is updated and reported.
    Utterances that disappeared from the source are kept (nothing is lost) and reported.
    """
    root = Path(source_path).resolve()
    if not root.is_dir():
        raise CorpusImportError(f"corpus folder not found: {root}")
    if format not in Corpus.Format.values:
        raise CorpusImportError(f"unknown corpus format {format!r}")
    report = ImportReport(corpus=name, skipped=list(skipped), warnings=list(warnings))

    names = Counter(record.name for record in records)
    duplicates = sorted(n for n, count in names.items() if count > 1)
    if duplicates:
        raise CorpusImportError(f"utterance ids occur more than once: {', '.join(duplicates[:10])}")

    probed: list[tuple[UtteranceRecord, AudioInfo, str]] = []
    total = len(records)
    for done, record in enumerate(records, start=1):
        try:
            info = probe_audio(record.audio_path)
            probed.append((record, info, _relative_audio_path(root, record.audio_path)))
        except UnreadableAudio as exc:
            report.skipped.append(SkippedItem(path=str(record.audio_path), reason=str(exc)))
        if progress:
            progress(done, total)

    with transaction.atomic():
        corpus, created = Corpus.objects.select_for_update().get_or_create(
            name=name,
            defaults={
                "format": format,
                "source_path": str(root),
                "classes": list(classes),
                "description": description,
                "is_synthetic": is_synthetic,
            },
        )
        if not created:
            if corpus.format != format:
                raise CorpusImportError(
                    f"corpus {name!r} exists with format {corpus.format!r}; choose another --name"
                )
            corpus.source_path = str(root)
            corpus.classes = list(classes)
            corpus.description = description or corpus.description
            corpus.is_synthetic = is_synthetic
        speakers = {s.code: s for s in corpus.speakers.all()}
        sessions = {s.code: s for s in corpus.sessions.all()}
        existing = {u.name: u for u in corpus.utterances.prefetch_related("votes")}

        for record, info, relative_path in probed:
            speaker = speakers.get(record.speaker)
            if speaker is None:
                speaker = Speaker.objects.create(corpus=corpus, code=record.speaker, gender=record.speaker_gender)
                speakers[record.speaker] = speaker
            elif record.speaker_gender and speaker.gender != record.speaker_gender:
                speaker.gender = record.speaker_gender
                speaker.save(update_fields=["gender"])
            session = sessions.get(record.session)
            if session is None:
                session = Session.objects.create(corpus=corpus, code=record.session)
                sessions[record.session] = session

            label, rule_label, n_raters, n_dissenting = _labels_for(record)
            if rule_label and label and rule_label != label:
                report.rule_mismatches.append(f"{record.name}: corpus says {label}, rule says {rule_label}")
            elif not rule_label and label and n_raters:
                report.rule_mismatches.append(f"{record.name}: corpus says {label}, rule finds no majority")
            elif rule_label and not label:
                report.rule_mismatches.append(f"{record.name}: corpus has no label, rule says {rule_label}")
            values = {
                "speaker": speaker,
                "session": session,
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
            wanted_votes = sorted(
                (vote.rater, sorted(vote.categories), vote.is_self_evaluation) for vote in record.votes
            )
            utterance = existing.get(record.name)
            if utterance is None:
                utterance = Utterance.objects.create(corpus=corpus, name=record.name, **values)
                report.created += 1
            else:
                changed_fields = [
                    key
                    for key, value in values.items()
                    if (getattr(utterance, key + "_id") != value.pk if key in ("speaker", "session") else getattr(utterance, key) != value)
                ]
                stored_votes = sorted(
                    (vote.rater, sorted(vote.categories), vote.is_self_evaluation) for vote in utterance.votes.all()
                )
                if not changed_fields and stored_votes == wanted_votes:
                    report.unchanged += 1
                    continue
                if "audio_sha256" in changed_fields:
                    report.changed_audio.append(record.name)
                for key in changed_fields:
                    setattr(utterance, key, values[key])
                utterance.save(update_fields=changed_fields or None)
                utterance.votes.all().delete()
                report.updated += 1
            ExpertVote.objects.bulk_create(
                ExpertVote(utterance=utterance, rater=rater, categories=categories, is_self_evaluation=is_self)
                for rater, categories, is_self in wanted_votes
            )

        missing = sorted(set(existing) - {record.name for record in records})
        if missing:
            report.warnings.append(
                f"{len(missing)} utterances imported earlier are no longer in the source and were kept: "
                + ", ".join(missing[:10])
                + (" ..." if len(missing) > 10 else "")
            )
        report.n_utterances = corpus.utterances.count()
        report.n_speakers = corpus.speakers.count()
        report.n_sessions = corpus.sessions.count()
        report.label_counts = dict(
            Counter(corpus.utterances.values_list("label", flat=True)).most_common()
        )
        corpus.import_report = {**report.as_json(), "imported_at": timezone.now().isoformat()}
        corpus.save()
    return report
