"""The import service: a second import writes nothing, a changed file is noticed and reported,
one transaction per corpus (a failure leaves nothing half-written)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.importers.records import UtteranceRecord, VoteRecord
from annotation.models import Corpus, ExpertVote, Speaker, Utterance
from annotation.services.corpora import CorpusImportError, corpus_import, corpus_import_from_source
from tests.annotation.fixtures_iemocap import write_iemocap_release
from tests.factories import tone, write_wav

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(queries) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].lstrip().upper().startswith(WRITES)]


def _records(root, names=("u1", "u2", "u3")):
    records = []
    for index, name in enumerate(names):
        path = root / f"{name}.wav"
        if not path.exists():
            write_wav(path, tone(0.2, frequency=200 + 50 * index, seed=index))
        votes = [VoteRecord(rater=f"E{r}", categories=("anger",) if r < 2 else ("neutral",)) for r in range(3)]
        records.append(UtteranceRecord(name=name, speaker="s1", session="s1", audio_path=path, votes=votes))
    return records


def _import(root, records, **kwargs):
    return corpus_import(
        name="tiny", format="manifest", source_path=root, classes=["neutral", "anger"], records=records, **kwargs
    )


def test_second_import_of_a_release_writes_nothing(tmp_path):
    release = write_iemocap_release(tmp_path / "IEMOCAP_full_release")
    with CaptureQueriesContext(connection) as first_queries:
        first = corpus_import_from_source(format="iemocap", path=release.root)
    assert _writes(first_queries.captured_queries)  # the check below can see writes
    corpus = Corpus.objects.get(name="iemocap")
    before = (corpus.updated_at, corpus.import_report, sorted(Utterance.objects.values_list("id", "public_id")))

    with CaptureQueriesContext(connection) as queries:
        second = corpus_import_from_source(format="iemocap", path=release.root)

    assert _writes(queries.captured_queries) == []
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
    assert not second.changed_anything
    assert second.rule_mismatches == first.rule_mismatches  # still reported on every run
    corpus.refresh_from_db()
    assert (corpus.updated_at, corpus.import_report, sorted(Utterance.objects.values_list("id", "public_id"))) == before


def test_a_changed_audio_file_is_updated_and_reported(tmp_path):
    records = _records(tmp_path)
    _import(tmp_path, records)
    old = Utterance.objects.get(name="u2")
    write_wav(tmp_path / "u2.wav", tone(0.5, frequency=440, seed=7))

    report = _import(tmp_path, records)

    assert report.changed_audio == ["u2"]
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    new = Utterance.objects.get(name="u2")
    assert new.audio_sha256 != old.audio_sha256
    assert new.duration_s == pytest.approx(0.5)
    assert (new.id, new.public_id) == (old.id, old.public_id)  # the same row, updated in place
    assert Corpus.objects.get(name="tiny").import_report["changed_audio"] == ["u2"]


def test_changed_votes_replace_the_stored_ones_and_the_label_follows(tmp_path):
    records = _records(tmp_path)
    _import(tmp_path, records)
    assert Utterance.objects.get(name="u1").label == "anger"  # 2 of 3 raters
    records[0].votes = [
        VoteRecord(rater="E0", categories=("neutral",)),
        VoteRecord(rater="E1", categories=("neutral",)),
    ]

    report = _import(tmp_path, records)

    assert (report.updated, report.unchanged, report.changed_audio) == (1, 2, [])
    u1 = Utterance.objects.get(name="u1")
    assert (u1.label, u1.n_raters, u1.n_dissenting) == ("neutral", 2, 0)
    assert sorted(u1.votes.values_list("rater", flat=True)) == ["E0", "E1"]


def test_unreadable_files_are_skipped_with_reasons_and_the_rest_imports(tmp_path):
    records = _records(tmp_path)
    (tmp_path / "u2.wav").write_bytes(b"")
    (tmp_path / "u3.wav").write_bytes(b"RIFF....WAVEgarbage")
    records.append(UtteranceRecord(name="u4", speaker="s1", session="s1", audio_path=tmp_path / "gone.wav"))

    report = _import(tmp_path, records)

    assert report.created == 1
    reasons = {item.path.rsplit("/", 1)[1]: item.reason for item in report.skipped}
    assert reasons["u2.wav"] == "empty file (0 bytes)"
    assert reasons["u3.wav"].startswith("not a readable audio file")
    assert reasons["gone.wav"] == "file not found"


def test_nothing_readable_refuses_a_new_corpus(tmp_path):
    (tmp_path / "u1.wav").write_bytes(b"")
    records = [UtteranceRecord(name="u1", speaker="s1", session="s1", audio_path=tmp_path / "u1.wav")]
    with pytest.raises(CorpusImportError, match=r"nothing to import.*empty file"):
        _import(tmp_path, records)
    assert not Corpus.objects.exists()


def test_a_failure_midway_rolls_back_the_whole_import(tmp_path):
    records = _records(tmp_path)
    _import(tmp_path, records)
    before = {u.name: u.audio_sha256 for u in Utterance.objects.all()}
    report_before = Corpus.objects.get(name="tiny").import_report
    # u1's file changes (its row is updated first), then u3 carries data the database cannot
    # store (not JSON-serialisable): the update of u1 must not survive.
    write_wav(tmp_path / "u1.wav", tone(0.3, frequency=500))
    records[2].emotion_spans = [{"start": 0.0, "end": 0.1, "emotion": object()}]
    # A new speaker and session are created before the failure too.
    records.insert(0, UtteranceRecord(name="u9", speaker="new-speaker", session="s9", audio_path=tmp_path / "u1.wav"))

    with pytest.raises(TypeError):
        _import(tmp_path, records)

    assert {u.name: u.audio_sha256 for u in Utterance.objects.all()} == before
    assert not Speaker.objects.filter(code="new-speaker").exists()
    assert not Utterance.objects.filter(name="u9").exists()
    assert Corpus.objects.get(name="tiny").import_report == report_before


def test_a_failed_first_import_leaves_no_corpus(tmp_path):
    records = _records(tmp_path)
    records[1].emotion_spans = [{"emotion": object()}]
    with pytest.raises(TypeError):
        _import(tmp_path, records)
    assert not Corpus.objects.exists() and not ExpertVote.objects.exists()


def test_utterances_gone_from_the_source_are_kept_and_reported(tmp_path):
    records = _records(tmp_path)
    _import(tmp_path, records)
    report = _import(tmp_path, records[:2])
    assert report.n_utterances == 3
    assert any(
        w.startswith("1 utterance(s) imported earlier are no longer in the source") and "u3" in w
        for w in report.warnings
    )


def test_a_new_class_set_is_a_reported_change(tmp_path):
    records = _records(tmp_path)
    _import(tmp_path, records)
    report = corpus_import(
        name="tiny", format="manifest", source_path=tmp_path, classes=["anger", "sadness", "neutral"], records=records
    )
    assert report.corpus_changes == ["class set: anger, neutral -> anger, neutral, sadness"]
    assert report.changed_anything and report.unchanged == 3
    assert Corpus.objects.get(name="tiny").classes == ["anger", "neutral", "sadness"]
    # Every record has 2 of 3 raters on anger, so neither neutral nor sadness has an utterance.
    assert "class(es) with no utterances in this corpus: neutral, sadness" in report.warnings


def test_audio_outside_the_corpus_folder_is_refused(tmp_path):
    inside = tmp_path / "corpus"
    inside.mkdir()
    records = _records(tmp_path)  # files live in tmp_path, above the corpus folder
    with pytest.raises(CorpusImportError, match="lies outside the corpus folder"):
        _import(inside, records)
    assert not Corpus.objects.exists()


def test_the_same_name_with_another_format_is_refused(tmp_path):
    records = _records(tmp_path)
    _import(tmp_path, records)
    with pytest.raises(CorpusImportError, match="exists with format 'manifest'"):
        corpus_import(name="tiny", format="emodb", source_path=tmp_path, classes=["anger"], records=records)


def test_parser_mistakes_are_refused_before_anything_is_read(tmp_path):
    records = _records(tmp_path)
    records[0].votes = [VoteRecord(rater="E1", categories=("anger",)), VoteRecord(rater="E1", categories=("neutral",))]
    records[1].label = "Angry"
    with pytest.raises(CorpusImportError) as caught:
        _import(tmp_path, records)
    assert "u1: rater(s) E1 vote twice" in str(caught.value)
    assert "u2: not canonical emotion names: Angry" in str(caught.value)


def test_progress_reports_every_file(tmp_path):
    seen = []
    _import(tmp_path, _records(tmp_path), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
