"""EmoDB's naming convention, on tiny wavs named like the real files."""

import pytest

from annotation.importers.common import SourceError
from annotation.importers.emodb import parse_emodb
from annotation.models import Corpus, Utterance
from annotation.services.corpora import corpus_import_from_source
from tests.factories import tone, write_wav


def _write(folder, names):
    for index, name in enumerate(names):
        write_wav(folder / name, tone(0.2, frequency=150 + 25 * index, seed=index))


@pytest.fixture
def emodb_root(tmp_path):
    root = tmp_path / "emodb"
    _write(
        root / "wav",
        ["03a01Fa.wav", "08a02Wb.wav", "10b01Nc.wav", "16b10Tc.wav", "09a05Lb.wav", "notes.wav", "03a01Xa.wav"],
    )
    (root / "wav" / "._03a01Fa.wav").write_bytes(b"\x00\x05\x16\x07")
    (root / "README.md").write_text("not audio")
    return root


def test_emodb_names_give_speaker_label_gender_and_text(emodb_root):
    records = {record.name: record for record in parse_emodb(emodb_root).records}
    assert sorted(records) == ["03a01Fa", "08a02Wb", "09a05Lb", "10b01Nc", "16b10Tc"]
    happy = records["03a01Fa"]
    assert (happy.speaker, happy.session, happy.speaker_gender) == ("03", "03", "M")
    assert (happy.label, happy.source_label, happy.label_from_votes) == ("happiness", "F", False)
    assert happy.transcript == "Der Lappen liegt auf dem Eisschrank."
    assert happy.votes == []
    assert (records["08a02Wb"].label, records["08a02Wb"].speaker_gender) == ("anger", "F")
    assert records["10b01Nc"].label == "neutral"
    assert records["16b10Tc"].label == "sadness"
    assert records["09a05Lb"].label == "boredom"


def test_emodb_reports_names_it_cannot_read_and_ignores_apple_double(emodb_root):
    result = parse_emodb(emodb_root)
    reasons = {item.path.rsplit("/", 1)[1]: item.reason for item in result.skipped}
    assert set(reasons) == {"notes.wav", "03a01Xa.wav"}
    assert "does not follow EmoDB's" in reasons["notes.wav"]
    assert "unknown emotion letter 'X'" in reasons["03a01Xa.wav"]
    assert any("1 macOS AppleDouble" in warning for warning in result.warnings)


def test_emodb_folder_without_wavs_is_refused(tmp_path):
    with pytest.raises(SourceError, match="no .wav files"):
        parse_emodb(tmp_path)


@pytest.mark.django_db
def test_emodb_import_groups_by_speaker_with_the_four_class_default(emodb_root):
    report = corpus_import_from_source(format="emodb", path=emodb_root)
    corpus = Corpus.objects.get(name="emodb")
    assert corpus.classes == ["anger", "happiness", "neutral", "sadness"]
    assert (report.n_utterances, report.n_speakers, report.n_sessions) == (5, 5, 5)
    assert report.label_counts == {"anger": 1, "happiness": 1, "neutral": 1, "sadness": 1, "boredom": 1}
    assert report.rule_mismatches == []
    bored = Utterance.objects.get(corpus=corpus, name="09a05Lb")
    assert (bored.speaker.code, bored.session.code, bored.n_raters, bored.n_dissenting) == ("09", "09", 0, None)
