"""CSV manifests: paths relative to the CSV's folder, refused when they leave it, votes and
labels read with their line numbers."""

import os

import pytest

from annotation.importers.common import SourceError
from annotation.importers.manifest import labels_found, parse_manifest
from annotation.importers.records import VoteRecord
from annotation.models import Corpus, Utterance
from annotation.services.corpora import CorpusImportError, corpus_import_from_source
from tests.factories import tone, write_wav


@pytest.fixture
def corpus_folder(tmp_path):
    folder = tmp_path / "mycorpus"
    for index, name in enumerate(["alice/a1.wav", "alice/a2.wav", "bob/b1.wav", "bob/b2.wav", "carol/c1.wav"]):
        write_wav(folder / name, tone(0.2, frequency=160 + 30 * index, seed=index))
    return folder


def _manifest(folder, text):
    path = folder / "manifest.csv"
    path.write_text(text)
    return path


def test_rows_give_records_with_defaults_and_votes(corpus_folder):
    path = _manifest(
        corpus_folder,
        "path,speaker,session,label,votes\n"
        "alice/a1.wav,alice,pair1,Angry,E1:Anger;E2:Anger;E3:Neutral\n"
        "alice/a2.wav,alice,,,E1:Sadness;E2:Sadness;E2:Neutral;E3:Happiness\n"
        "bob/b1.wav,bob,pair1,neutral,\n",
    )
    records = {record.name: record for record in parse_manifest(path).records}
    assert sorted(records) == ["alice/a1", "alice/a2", "bob/b1"]
    a1 = records["alice/a1"]
    assert (a1.speaker, a1.session, a1.label, a1.source_label) == ("alice", "pair1", "anger", "Angry")
    assert a1.audio_path == corpus_folder / "alice/a1.wav"
    a2 = records["alice/a2"]
    assert a2.session == "alice"  # defaults to the speaker
    assert a2.label is None and a2.label_from_votes  # the votes decide
    # A rater named twice chose both categories.
    assert a2.votes == [
        VoteRecord(rater="E1", categories=("sadness",)),
        VoteRecord(rater="E2", categories=("sadness", "neutral")),
        VoteRecord(rater="E3", categories=("happiness",)),
    ]
    assert records["bob/b1"].votes == []


@pytest.mark.parametrize(
    ("bad_path", "why"),
    [
        ("../outside.wav", "leaves the manifest's folder"),
        ("alice/../../outside.wav", "leaves the manifest's folder"),
        ("/etc/passwd", "is absolute"),
        ("escape.wav", "leaves the manifest's folder"),  # a symlink pointing out
    ],
)
def test_a_path_leaving_the_folder_refuses_the_whole_manifest(corpus_folder, tmp_path, bad_path, why):
    write_wav(tmp_path / "outside.wav", tone(0.2))
    os.symlink(tmp_path / "outside.wav", corpus_folder / "escape.wav")
    path = _manifest(corpus_folder, f"path,speaker\nalice/a1.wav,alice\n{bad_path},mallory\n")
    with pytest.raises(SourceError) as caught:
        parse_manifest(path)
    message = str(caught.value)
    assert f"{path}:3: path {bad_path!r} {why}" in message
    assert "nothing imported" in message


def test_a_symlink_that_stays_inside_is_accepted(corpus_folder):
    os.symlink(corpus_folder / "bob/b1.wav", corpus_folder / "alias.wav")
    path = _manifest(corpus_folder, "path,speaker\nalias.wav,bob\nalice/./a1.wav,alice\n")
    assert [record.name for record in parse_manifest(path).records] == ["alias", "alice/a1"]


def test_bad_rows_are_reported_with_their_csv_line_and_the_rest_kept(corpus_folder):
    path = _manifest(
        corpus_folder,
        "path,speaker,label,votes\n"
        "alice/a1.wav,alice,angri,\n"  # line 2: unknown label
        "alice/a2.wav,alice,,E1:Anger;E2 Anger\n"  # line 3: malformed vote
        "bob/b1.wav,bob,,E1:Anger;E2:Furious\n"  # line 4: unknown vote category
        "bob/missing.wav,bob,anger,\n"  # line 5: no such file
        "bob/b2.wav,,anger,\n"  # line 6: no speaker
        "\n"
        "carol/c1.wav,carol,sad,\n"  # line 8: fine
        "carol/c1.wav,carol,sad,\n",  # line 9: listed twice
    )
    result = parse_manifest(path)
    assert [record.name for record in result.records] == ["carol/c1"]
    reasons = {item.line: item.reason for item in result.skipped}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 9]
    assert "unknown emotion 'angri'" in reasons[2]
    assert "'E2 Anger' is not rater:Category" in reasons[3]
    assert "unknown emotion 'Furious'" in reasons[4]
    assert "audio file not found: bob/missing.wav" in reasons[5]
    assert reasons[6] == "no speaker"
    assert "listed twice (first on line 8)" in reasons[9]
    assert all(item.path == str(path) for item in result.skipped)


def test_missing_required_columns_are_named(corpus_folder):
    path = _manifest(corpus_folder, "file,label\nalice/a1.wav,anger\n")
    with pytest.raises(SourceError, match="missing: path, speaker"):
        parse_manifest(path)


def test_default_class_set_is_every_label_given_or_decided(corpus_folder):
    path = _manifest(
        corpus_folder,
        "path,speaker,label,votes\n"
        "alice/a1.wav,alice,anger,\n"
        "alice/a2.wav,alice,,E1:Sadness;E2:Sadness;E3:Neutral\n"
        "bob/b1.wav,bob,,E1:Sadness;E2:Neutral\n"  # a tie: no label, adds no class
        "bob/b2.wav,bob,,E1:Neutral;E2:Neutral;E3:Fear\n",
    )
    assert labels_found(parse_manifest(path)) == ("anger", "neutral", "sadness")


@pytest.mark.django_db
def test_import_labels_from_the_votes_and_names_the_corpus_after_the_csv(corpus_folder):
    _manifest(
        corpus_folder,
        "path,speaker,session,label,votes\n"
        "alice/a1.wav,alice,p1,anger,E1:Anger;E2:Sadness;E3:Sadness\n"
        "alice/a2.wav,alice,p1,,E1:Sadness;E2:Sadness;E2:Neutral;E3:Happiness\n"
        "bob/b1.wav,bob,p1,,E1:Sadness;E2:Neutral\n",
    )
    report = corpus_import_from_source(format="manifest", path=corpus_folder / "manifest.csv")
    corpus = Corpus.objects.get(name="manifest")
    assert corpus.root == corpus_folder.resolve()
    assert corpus.classes == ["anger", "sadness"]
    a2 = Utterance.objects.get(corpus=corpus, name="alice/a2")
    # 2 of 3 raters include sadness (E2 chose two categories): at least half.
    assert (a2.label, a2.rule_label, a2.n_raters, a2.n_dissenting) == ("sadness", "sadness", 3, 1)
    assert a2.audio_path == "alice/a2.wav"
    assert Utterance.objects.get(corpus=corpus, name="bob/b1").label == ""
    assert report.rule_mismatches == ["alice/a1: corpus says anger, rule says sadness"]
    assert (report.n_speakers, report.n_sessions) == (2, 1)


@pytest.mark.django_db
def test_refused_manifest_writes_nothing(corpus_folder):
    _manifest(corpus_folder, "path,speaker\nalice/a1.wav,alice\n../../etc/passwd,mallory\n")
    with pytest.raises(CorpusImportError, match="'../../etc/passwd' leaves the manifest's folder"):
        corpus_import_from_source(format="manifest", path=corpus_folder / "manifest.csv")
    assert not Corpus.objects.exists()
