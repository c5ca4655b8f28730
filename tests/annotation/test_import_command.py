"""``manage.py import_corpus``: its summary, progress bar, options and exit codes."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Corpus
from tests.annotation.fixtures_iemocap import write_iemocap_release
from tests.factories import tone, write_wav

PROJECT = Path(__file__).resolve().parents[2]


def _run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_corpus", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def emodb_root(tmp_path):
    root = tmp_path / "emodb"
    for index, name in enumerate(["03a01Wa", "03a02Nc", "08a01Fb", "08b01Ta", "10a04Lc"]):
        write_wav(root / "wav" / f"{name}.wav", tone(0.2, frequency=150 + 30 * index, seed=index))
    return root


@pytest.mark.django_db
def test_summary_counts_labels_in_class_set_first_and_shows_progress(emodb_root):
    (emodb_root / "wav" / "bad-name.wav").write_bytes(b"")
    out, err = _run("emodb", emodb_root)
    assert "5 utterances from 3 speakers in 3 sessions" in out
    assert "this import: 5 created, 0 updated, 0 unchanged" in out
    assert "class set: anger, happiness, neutral, sadness" in out
    label_lines = [line.split() for line in out.splitlines() if line.startswith("   ")][:5]
    assert label_lines == [
        ["*", "anger", "1"],
        ["*", "happiness", "1"],
        ["*", "neutral", "1"],
        ["*", "sadness", "1"],
        ["boredom", "1"],
    ]
    assert "skipped: 1" in out and "bad-name.wav: name does not follow EmoDB's" in out
    assert "Import finished." in out
    assert "reading audio" in err and "100%" in err and "5/5" in err


@pytest.mark.django_db
def test_second_import_says_nothing_changed_and_a_changed_file_is_named(emodb_root):
    _run("emodb", emodb_root)
    out, _ = _run("emodb", emodb_root)
    assert "this import: 0 created, 0 updated, 5 unchanged" in out
    assert "Nothing changed: the database already held this data." in out

    write_wav(emodb_root / "wav" / "08a01Fb.wav", tone(0.4, frequency=600))
    out, _ = _run("emodb", emodb_root)
    assert "changed audio files: 1\n    - 08a01Fb\n" in out
    assert "this import: 0 created, 1 updated, 4 unchanged" in out


@pytest.mark.django_db
@pytest.mark.parametrize("classes", [["anger,Sad"], ["anger", "sad"], ["sadness", "anger,anger"]])
def test_classes_comma_or_space_separated_any_spelling(emodb_root, classes):
    out, _ = _run("emodb", emodb_root, "--name", "berlin", "--classes", *classes)
    assert Corpus.objects.get(name="berlin").classes == ["anger", "sadness"]
    assert "class set: anger, sadness" in out


@pytest.mark.django_db
def test_reimport_without_classes_keeps_the_corpus_class_set(emodb_root):
    _run("emodb", emodb_root, "--classes", "anger", "neutral")
    out, _ = _run("emodb", emodb_root)
    assert Corpus.objects.get(name="emodb").classes == ["anger", "neutral"]
    assert "Nothing changed" in out


@pytest.mark.django_db
def test_unknown_class_name_is_an_error(emodb_root):
    with pytest.raises(CommandError, match="unknown emotion 'angr'"):
        _run("emodb", emodb_root, "--classes", "angr")
    assert not Corpus.objects.exists()


@pytest.mark.django_db
def test_missing_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(CommandError, match=f"corpus folder not found: {tmp_path / 'nowhere'}"):
        _run("ravdess", tmp_path / "nowhere")


@pytest.mark.django_db
def test_rule_mismatches_and_long_lists_are_printed_briefly(tmp_path):
    release = write_iemocap_release(tmp_path / "IEMOCAP_full_release")
    out, _ = _run("iemocap", release.root)
    assert "15 utterances from 10 speakers in 5 sessions" in out
    assert "label differs from the half-of-raters rule (the corpus's label is kept): 2" in out
    assert "- Ses01F_impro01_M000: corpus has no label, rule says sadness" in out
    assert "(no label)" in out
    malformed_line = release.line_of("C-E3:\tBored stiff;\t()")
    assert f"{release.session1_evaluation}:{malformed_line}: malformed block" in out

    folder = tmp_path / "many"
    for index in range(12):
        (folder / "wav").mkdir(parents=True, exist_ok=True)
        (folder / "wav" / f"junk{index:02d}.wav").write_bytes(b"")
    write_wav(folder / "wav" / "03a01Wa.wav", tone(0.2))
    out, _ = _run("emodb", folder, "--name", "many")
    assert "skipped: 12" in out and "... and 2 more (all are kept in the corpus's import report)" in out
    assert len(Corpus.objects.get(name="many").import_report["skipped"]) == 12


def _manage(tmp_path, *args):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EMOLAB_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "import_corpus", *map(str, args)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_codes_from_the_command_line(tmp_path):
    missing = _manage(tmp_path, "emodb", tmp_path / "no-such-folder")
    assert missing.returncode == 1
    assert f"corpus folder not found: {tmp_path / 'no-such-folder'}" in missing.stderr

    unknown = _manage(tmp_path, "timit", tmp_path)
    assert unknown.returncode == 2
    assert "invalid choice: 'timit'" in unknown.stderr
