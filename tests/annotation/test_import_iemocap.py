"""The IEMOCAP parser and import on a release the test writes itself (fixtures_iemocap.py)."""

import pytest

from annotation.importers.iemocap import parse_iemocap
from annotation.importers.records import VoteRecord
from annotation.models import Corpus, Utterance
from annotation.services.corpora import corpus_import_from_source
from tests.annotation.fixtures_iemocap import write_iemocap_release


@pytest.fixture
def release(tmp_path):
    return write_iemocap_release(tmp_path / "IEMOCAP_full_release")


def _by_name(result):
    return {record.name: record for record in result.records}


def test_block_header_gives_times_label_speaker_session_and_transcript(release):
    record = _by_name(parse_iemocap(release.root))["Ses01F_impro01_F000"]
    assert (record.start_s, record.end_s) == (6.2901, 8.2357)
    assert record.label == "neutral"
    assert record.source_label == "neu"
    assert record.label_from_votes is False
    assert (record.speaker, record.session, record.speaker_gender) == ("Ses01F", "Ses01", "F")
    assert record.transcript == "Excuse me."
    assert record.audio_path == release.wav("Ses01F_impro01_F000")


def test_speaker_is_the_sex_of_the_last_id_field_not_of_the_dialog(release):
    # Ses01F_impro01_M000: the dialog was led by the female actor, the turn is the male's.
    record = _by_name(parse_iemocap(release.root))["Ses01F_impro01_M000"]
    assert (record.speaker, record.speaker_gender) == ("Ses01M", "M")


def test_every_vote_kept_self_evaluations_flagged_multi_category_lines_split(release):
    records = _by_name(parse_iemocap(release.root))
    assert records["Ses01F_impro01_F001"].votes == [
        VoteRecord(rater="E2", categories=("neutral",)),
        VoteRecord(rater="E3", categories=("neutral",)),
        VoteRecord(rater="E4", categories=("neutral",)),
        VoteRecord(rater="F1", categories=("neutral", "anger"), is_self_evaluation=True),
    ]
    assert records["Ses01F_impro01_F002"].votes[0] == VoteRecord(rater="E1", categories=("anger", "frustration"))
    m001 = records["Ses01F_impro01_M001"].votes
    assert [vote.rater for vote in m001 if vote.is_self_evaluation] == ["M1"]
    assert m001[1].categories == ("happiness",)
    assert m001[0].categories == ("excitement",)  # the vote line's "Excited" is the header's exc


def test_xxx_block_has_no_label_and_the_votes_may_not_decide(release):
    record = _by_name(parse_iemocap(release.root))["Ses01F_impro01_M000"]
    assert record.source_label == "xxx"
    assert record.label is None
    assert record.label_from_votes is False


def test_malformed_blocks_reported_with_file_and_line_and_the_rest_parsed(release):
    result = parse_iemocap(release.root)
    malformed = sorted((item.line, item.reason) for item in result.skipped if "malformed" in item.reason)
    header_line = release.line_of("[21.3257 - 24.7400] Ses01F_impro01_F004 neu [2.5000, 2.5000, 2.5000]")
    vote_line = release.line_of("C-E3:\tBored stiff;\t()")
    assert [line for line, _ in malformed] == [header_line, vote_line]
    assert "block header" in malformed[0][1]
    assert "Bored stiff" in malformed[1][1]
    assert all(item.path == str(release.session1_evaluation) for item in result.skipped if item.line)
    names = _by_name(result)
    assert "Ses01F_impro01_F004" not in names and "Ses01F_impro01_F006" not in names
    # 8 of Session1's 11 blocks (2 malformed, 1 without audio) and 2 per other session.
    assert len(result.records) == 8 + 4 * 2


def test_block_whose_wav_is_missing_is_skipped_with_that_reason(release):
    result = parse_iemocap(release.root)
    [item] = [item for item in result.skipped if "not found" in item.reason]
    assert item.line == release.line_of("[25.0000 - 27.5000]\tSes01F_impro01_F005\tsad\t[1.5000, 2.0000, 2.0000]")
    assert "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F005.wav" in item.reason


def test_apple_double_files_are_left_out_and_counted(release):
    result = parse_iemocap(release.root)
    assert any("2 macOS AppleDouble" in warning for warning in result.warnings)
    assert not any("._" in item.path for item in result.skipped)


def test_audio_without_an_importable_block_is_reported(release):
    # F006's block is malformed, so its wav is not imported: the report says so.
    warnings = parse_iemocap(release.root).warnings
    assert any(w.startswith("1 audio file(s)") and "Ses01F_impro01_F006" in w for w in warnings)


def test_transcript_lines_without_utterance_are_ignored_and_missing_ones_counted(release):
    result = parse_iemocap(release.root)
    records = _by_name(result)
    assert records["Ses01F_impro01_M000"].transcript == "Do you have your forms?"
    assert records["Ses01F_impro01_F003"].transcript == ""
    assert "1 utterance(s) have no line in their transcription file" in result.warnings


def test_a_folder_without_sessions_is_refused_clearly(tmp_path):
    from annotation.importers.common import SourceError

    with pytest.raises(SourceError, match="no Session1 ... Session5 folders"):
        parse_iemocap(tmp_path)


@pytest.mark.django_db
def test_import_writes_labels_votes_and_reports_rule_mismatches(release):
    report = corpus_import_from_source(format="iemocap", path=release.root)

    corpus = Corpus.objects.get(name="iemocap")
    assert corpus.classes == ["anger", "excitement", "neutral", "sadness"]
    assert (report.n_utterances, report.n_speakers, report.n_sessions) == (15, 10, 5)
    assert sorted(corpus.sessions.values_list("code", flat=True)) == ["Ses01", "Ses02", "Ses03", "Ses04", "Ses05"]
    assert dict(corpus.speakers.values_list("code", "gender"))["Ses03F"] == "F"
    assert report.label_counts == {"anger": 5, "excitement": 1, "neutral": 2, "sadness": 5, "": 2}

    # The corrupt wav is skipped with its reason; everything else imported.
    [corrupt] = [item for item in report.skipped if item.path.endswith("Ses01F_impro01_M002.wav")]
    assert "not a readable audio file" in corrupt.reason

    # The stereo 44.1 kHz file is accepted as it is.
    stereo = Utterance.objects.get(name="Ses01F_impro01_M003")
    assert (stereo.n_channels, stereo.sample_rate) == (2, 44100)
    assert stereo.duration_s == pytest.approx(0.25)

    # The header is THE label; the rule is stored beside it and disagreements reported.
    tie = Utterance.objects.get(name="Ses01F_impro01_F002")
    assert (tie.label, tie.rule_label, tie.n_raters, tie.n_dissenting) == ("anger", "", 3, 1)
    no_majority = Utterance.objects.get(name="Ses01F_impro01_M000")
    assert (no_majority.label, no_majority.source_label, no_majority.rule_label) == ("", "xxx", "sadness")
    assert sorted(report.rule_mismatches) == [
        "Ses01F_impro01_F002: corpus says anger, rule finds no majority",
        "Ses01F_impro01_M000: corpus has no label, rule says sadness",
    ]

    # Self-evaluations are stored, flagged, and not counted as expert raters.
    excited = Utterance.objects.get(name="Ses01F_impro01_M001")
    assert (excited.label, excited.n_raters, excited.n_dissenting) == ("excitement", 3, 1)
    assert list(excited.votes.filter(is_self_evaluation=True).values_list("rater", "categories")) == [
        ("M1", ["excitement"])
    ]
    f001 = Utterance.objects.get(name="Ses01F_impro01_F001")
    assert f001.votes.get(rater="F1").categories == ["neutral", "anger"]
    assert (f001.n_raters, f001.n_dissenting) == (3, 0)
    assert (f001.start_s, f001.end_s, f001.transcript) == (10.01, 11.3925, "Yeah.")
    assert f001.audio_file == release.wav("Ses01F_impro01_F001").resolve()
