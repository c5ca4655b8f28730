"""RAVDESS's naming convention, on tiny wavs named like the real files."""

import pytest

from annotation.importers.ravdess import parse_ravdess
from annotation.models import Corpus
from annotation.services.corpora import corpus_import_from_source
from tests.factories import tone, write_wav


def _write(folder, names):
    for index, name in enumerate(names):
        write_wav(folder / name, tone(0.2, frequency=150 + 25 * index, seed=index))


@pytest.fixture
def ravdess_root(tmp_path):
    root = tmp_path / "ravdess"
    _write(root / "Actor_01", ["03-01-05-02-01-01-01.wav", "03-01-03-01-02-02-01.wav", "03-02-05-01-01-01-01.wav"])
    _write(
        root / "Actor_02",
        [
            "03-01-02-01-02-02-02.wav",
            "03-01-01-01-01-01-02.wav",
            "03-01-04-02-01-01-02.wav",
            "03-01-05-01-01-01-01.wav",
            "02-01-05-01-01-01-02.wav",
        ],
    )
    _write(root / "Actor_13", ["03-01-08-02-02-01-13.wav", "03-01-09-01-01-01-13.wav"])
    (root / "Actor_13" / "._03-01-08-02-02-01-13.wav").write_bytes(b"\x00\x05\x16\x07")
    return root


def test_ravdess_names_give_actor_label_gender_and_statement(ravdess_root):
    records = {record.name: record for record in parse_ravdess(ravdess_root).records}
    assert sorted(records) == [
        "03-01-01-01-01-01-02",
        "03-01-02-01-02-02-02",
        "03-01-03-01-02-02-01",
        "03-01-04-02-01-01-02",
        "03-01-05-02-01-01-01",
        "03-01-08-02-02-01-13",
    ]
    angry = records["03-01-05-02-01-01-01"]
    assert (angry.speaker, angry.session, angry.speaker_gender) == ("Actor_01", "Actor_01", "M")
    assert (angry.label, angry.source_label, angry.label_from_votes) == ("anger", "05", False)
    assert angry.transcript == "Kids are talking by the door"
    calm = records["03-01-02-01-02-02-02"]
    assert (calm.label, calm.speaker_gender, calm.transcript) == ("calm", "F", "Dogs are sitting by the door")
    assert records["03-01-03-01-02-02-01"].label == "happiness"
    assert records["03-01-04-02-01-01-02"].label == "sadness"
    assert records["03-01-01-01-01-01-02"].label == "neutral"
    assert (records["03-01-08-02-02-01-13"].label, records["03-01-08-02-02-01-13"].speaker_gender) == ("surprise", "M")


def test_ravdess_reports_song_video_wrong_folder_and_unknown_codes(ravdess_root):
    result = parse_ravdess(ravdess_root)
    reasons = {item.path.rsplit("/", 1)[1]: item.reason for item in result.skipped}
    assert "song" in reasons["03-02-05-01-01-01-01.wav"]
    assert "video only" in reasons["02-01-05-01-01-01-02.wav"]
    assert "but the file is in Actor_02" in reasons["03-01-05-01-01-01-01.wav"]
    assert "unknown emotion code 09" in reasons["03-01-09-01-01-01-13.wav"]
    assert len(reasons) == 4
    assert any("1 macOS AppleDouble" in warning for warning in result.warnings)


@pytest.mark.django_db
def test_ravdess_import_keeps_calm_outside_the_class_set(ravdess_root):
    report = corpus_import_from_source(format="ravdess", path=ravdess_root, name="rav")
    corpus = Corpus.objects.get(name="rav")
    assert corpus.classes == ["anger", "happiness", "neutral", "sadness"]
    assert report.label_counts == {"anger": 1, "happiness": 1, "neutral": 1, "sadness": 1, "calm": 1, "surprise": 1}
    assert (report.n_speakers, report.n_sessions) == (3, 3)
    assert dict(corpus.speakers.values_list("code", "gender")) == {"Actor_01": "M", "Actor_02": "F", "Actor_13": "M"}
