"""Feature sets on the real database and files: extraction, the cache, bad audio, interruption,
Celery chunking. Frame counts are worked out by hand: a signal of n samples has
floor((n - 3200) / 1600) + 1 frames; the paper preset drops the first and last of them."""

import numpy as np
import pytest
import soundfile
from django.core.management import CommandError, call_command

from annotation.models import Utterance
from models_app.models import FeatureSet
from models_app.selectors.features import (
    FeatureSetNotReady,
    UnknownUtterances,
    feature_frame_indices,
    feature_matrices,
    feature_set_ready,
)
from models_app.ser.audio import read_audio
from models_app.ser.feature_store import shard_exists, shard_path
from models_app.ser.features import FEATURE_PRESETS, extract
from models_app.services import features as services
from models_app.services.features import FeatureExtractionError, feature_set_ensure
from tests.factories import make_corpus_from_signals, tone

pytestmark = pytest.mark.django_db


def pk_of(corpus, name: str) -> int:
    return Utterance.objects.get(corpus=corpus, name=name).pk


@pytest.fixture
def corpus(tmp_path, media_root):
    # 1 s, 1.5 s and 2 s: 9, 14 and 19 frames; the paper preset keeps 7, 12 and 17.
    return make_corpus_from_signals(
        tmp_path / "audio",
        {"one": tone(1.0, 220, seed=1), "one_and_half": tone(1.5, 330, seed=2), "two": tone(2.0, 440, seed=3)},
    )


def test_ensure_extracts_every_utterance_with_hand_counted_frames(corpus):
    events = []
    feature_set = feature_set_ensure(corpus=corpus, preset="paper", progress=events.append)
    assert feature_set.status == FeatureSet.Status.READY
    assert feature_set.n_utterances == 3
    assert feature_set.n_frames_total == 9 + 14 + 19
    assert feature_set.n_frames == 7 + 12 + 17
    assert feature_set.empty_utterances == []
    assert feature_set.config == FEATURE_PRESETS["paper"].to_dict()
    assert feature_set.store_path == f"features/feat/{FEATURE_PRESETS['paper'].config_hash()}"
    assert events[-1].done == events[-1].total == 3
    assert [e.done for e in events] == sorted(e.done for e in events)

    matrices = feature_matrices(feature_set=feature_set)
    assert {pk: m.shape for pk, m in matrices.items()} == {
        pk_of(corpus, "one"): (7, 34),
        pk_of(corpus, "one_and_half"): (12, 34),
        pk_of(corpus, "two"): (17, 34),
    }
    # What is stored is exactly what the extractor gives for the file.
    utterance = Utterance.objects.get(pk=pk_of(corpus, "two"))
    samples, rate = read_audio(utterance.audio_file)
    assert np.array_equal(matrices[utterance.pk], extract(samples, rate, FEATURE_PRESETS["paper"]).matrix)
    assert feature_frame_indices(feature_set=feature_set, utterance_ids=[utterance.pk])[utterance.pk].tolist() == list(
        range(1, 18)
    )
    assert feature_set_ready(corpus=corpus, preset="paper") == feature_set


def test_a_second_run_reuses_the_cache_and_extracts_nothing(corpus, monkeypatch):
    first = feature_set_ensure(corpus=corpus)

    def must_not_run(*args, **kwargs):
        raise AssertionError("extraction ran although the cache is current")

    monkeypatch.setattr(services, "extract", must_not_run)
    events = []
    second = feature_set_ensure(corpus=corpus, progress=events.append)
    assert second.pk == first.pk and second.status == FeatureSet.Status.READY
    assert events[0].detail == {"cached": True}
    assert FeatureSet.objects.count() == 1


def test_a_new_configuration_makes_a_new_set_in_its_own_folder(corpus):
    paper = feature_set_ensure(corpus=corpus, preset="paper")
    full = feature_set_ensure(corpus=corpus, preset="full")
    assert full.pk != paper.pk and full.config_hash != paper.config_hash
    assert full.store_path != paper.store_path
    assert full.n_frames == full.n_frames_total == 9 + 14 + 19
    one = pk_of(corpus, "one")
    assert feature_frame_indices(feature_set=full, utterance_ids=[one])[one].tolist() == list(range(9))
    # Dropping the edge frames is all the paper preset did to these loud tones.
    assert np.array_equal(
        feature_matrices(feature_set=paper, utterance_ids=[one])[one],
        feature_matrices(feature_set=full, utterance_ids=[one])[one][1:-1],
    )


def test_silent_short_and_empty_audio_have_no_frames_are_reported_and_left_out(tmp_path, media_root):
    corpus = make_corpus_from_signals(
        tmp_path / "audio",
        {"loud": tone(1.0), "silent": np.zeros(16000), "short": tone(0.1), "emptied": tone(1.0)},
        name="odd",
    )
    # A file that lost its samples after the import (the importer itself refuses empty audio).
    emptied = Utterance.objects.get(corpus=corpus, name="emptied")
    soundfile.write(str(emptied.audio_file), np.zeros((0,)), 16000, subtype="PCM_16")

    feature_set = feature_set_ensure(corpus=corpus, preset="paper")
    reasons = {item["name"]: item["reason"] for item in feature_set.empty_utterances}
    assert reasons == {
        "silent": "silent: none of its 9 frames has energy above 0.0001 (first and last frame dropped)",
        "short": "shorter than one 200 ms frame (0.100 s)",
        "emptied": "audio holds no samples",
    }
    assert feature_set.n_utterances == 1
    ids = [pk_of(corpus, n) for n in ("loud", "silent", "short", "emptied")]
    matrices = feature_matrices(feature_set=feature_set, utterance_ids=ids)
    assert list(matrices) == [ids[0]]  # never zero-filled stand-ins

    # Without the energy selection silence has frames: its features are those of silence.
    full = feature_set_ensure(corpus=corpus, preset="full")
    assert feature_matrices(feature_set=full, utterance_ids=[ids[1]])[ids[1]].shape == (9, 34)
    assert {item["name"] for item in full.empty_utterances} == {"short", "emptied"}


def test_nan_samples_fail_the_set_with_the_utterance_named(corpus):
    broken = Utterance.objects.get(corpus=corpus, name="one_and_half")
    samples = tone(1.5).astype(np.float32)
    samples[100] = np.nan
    soundfile.write(str(broken.audio_file), samples, 16000, subtype="FLOAT")

    with pytest.raises(FeatureExtractionError, match=r"utterance one_and_half .*1 NaN and 0 infinite samples"):
        feature_set_ensure(corpus=corpus)
    feature_set = FeatureSet.objects.get()
    assert feature_set.status == FeatureSet.Status.FAILED
    assert "one_and_half" in feature_set.error
    with pytest.raises(FeatureSetNotReady):
        feature_matrices(feature_set=feature_set)


def test_a_missing_audio_file_is_an_error_naming_utterance_and_path(corpus):
    gone = Utterance.objects.get(corpus=corpus, name="two")
    gone.audio_file.unlink()
    with pytest.raises(FeatureExtractionError, match=r"utterance two .*two\.wav\): audio file not found"):
        feature_set_ensure(corpus=corpus)


def test_an_audio_path_leading_out_of_the_corpus_folder_is_refused(corpus):
    Utterance.objects.filter(corpus=corpus, name="one").update(audio_path="../../outside.wav")
    with pytest.raises(FeatureExtractionError, match="leaves the corpus folder"):
        feature_set_ensure(corpus=corpus)


def test_an_interrupted_extraction_never_claims_ready_and_resumes_from_its_chunks(corpus, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_MAX_UTTERANCES", 1)  # one chunk per utterance
    real = services.utterance_features
    calls = []

    def interrupted_on_the_second(utterance, config):
        calls.append(utterance.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(utterance, config)

    monkeypatch.setattr(services, "utterance_features", interrupted_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        feature_set_ensure(corpus=corpus)
    feature_set = FeatureSet.objects.get()
    assert feature_set.status == FeatureSet.Status.RUNNING
    assert [shard_exists(feature_set.store_folder, c["key"]) for c in feature_set.chunks] == [True, False, False]
    with pytest.raises(FeatureSetNotReady):
        feature_matrices(feature_set=feature_set)

    calls.clear()
    monkeypatch.setattr(services, "utterance_features", lambda u, c: calls.append(u.name) or real(u, c))
    resumed = feature_set_ensure(corpus=corpus)
    assert resumed.status == FeatureSet.Status.READY
    assert calls == ["one_and_half", "two"]  # the first chunk was not extracted again
    assert resumed.n_frames == 7 + 12 + 17


def test_chunks_are_idempotent_and_the_set_is_packed_only_when_all_are_done(
    corpus, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK_MAX_UTTERANCES", 2)
    feature_set = services.feature_set_prepare(corpus=corpus, preset="paper")
    assert [len(c["ids"]) for c in feature_set.chunks] == [2, 1]

    assert services.feature_chunk_extract(feature_set_id=feature_set.pk, chunk_index=0) is True
    written = shard_path(feature_set.store_folder, feature_set.chunks[0]["key"]).read_bytes()
    assert services.feature_chunk_extract(feature_set_id=feature_set.pk, chunk_index=0) is False  # redelivered
    assert shard_path(feature_set.store_folder, feature_set.chunks[0]["key"]).read_bytes() == written
    assert services.feature_set_record_progress(feature_set_id=feature_set.pk) == 2
    assert services.feature_set_record_progress(feature_set_id=feature_set.pk) == 2  # counted once
    assert services.feature_set_finalise(feature_set_id=feature_set.pk) is None  # chunk 1 missing
    assert FeatureSet.objects.get().status != FeatureSet.Status.READY

    services.feature_chunk_extract(feature_set_id=feature_set.pk, chunk_index=1)
    with django_capture_on_commit_callbacks(execute=True):
        ready = services.feature_set_finalise(feature_set_id=feature_set.pk)
    assert ready.status == FeatureSet.Status.READY and ready.n_frames == 36
    assert not (ready.store_folder / "shards").exists()  # removed once ready was committed
    again = services.feature_set_finalise(feature_set_id=feature_set.pk)
    assert again.n_frames == 36 and again.finished_at == ready.finished_at


def test_async_extraction_enqueues_one_task_per_chunk_after_commit(
    corpus, monkeypatch, django_capture_on_commit_callbacks
):
    from emolab.celery import app
    from models_app.tasks import features as tasks

    monkeypatch.setattr(services, "CHUNK_MAX_UTTERANCES", 1)
    sent = []

    def send_task(name, args):  # the services send tasks by name (emolab/celery.py)
        assert name == tasks.extract_feature_chunk.name
        sent.append(args)

    monkeypatch.setattr(app, "send_task", send_task)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        feature_set = services.feature_set_extract_async(corpus=corpus)
    assert sent == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert sent == [(feature_set.pk, 0), (feature_set.pk, 1), (feature_set.pk, 2)]
    assert FeatureSet.objects.get().status == FeatureSet.Status.RUNNING

    # What the worker does with each message, in any order; the last one packs the set.
    for args in reversed(sent):
        tasks.extract_feature_chunk.run(*args)
    assert FeatureSet.objects.get().status == FeatureSet.Status.READY
    assert FeatureSet.objects.get().n_frames == 36


def test_a_chunk_task_with_bad_audio_marks_the_set_failed(corpus):
    from models_app.tasks.features import extract_feature_chunk

    Utterance.objects.get(corpus=corpus, name="one").audio_file.unlink()
    feature_set = services.feature_set_prepare(corpus=corpus)
    extract_feature_chunk.run(feature_set.pk, 0)
    feature_set.refresh_from_db()
    assert feature_set.status == FeatureSet.Status.FAILED
    assert "utterance one " in feature_set.error


def test_changed_audio_is_noticed_and_extracted_again(corpus, tmp_path):
    before = feature_set_ensure(corpus=corpus)
    two = pk_of(corpus, "two")
    old = feature_matrices(feature_set=before, utterance_ids=[two])[two]
    # Re-import with different audio for "two": the import service records the new fingerprint.
    signals = {"one": tone(1.0, 220, seed=1), "one_and_half": tone(1.5, 330, seed=2), "two": tone(2.0, 880, seed=9)}
    make_corpus_from_signals(tmp_path / "audio", signals)
    after = feature_set_ensure(corpus=corpus)
    assert after.pk == before.pk and after.status == FeatureSet.Status.READY
    assert not np.array_equal(feature_matrices(feature_set=after, utterance_ids=[two])[two], old)


def test_utterances_the_set_never_saw_are_refused(corpus, tmp_path):
    feature_set = feature_set_ensure(corpus=corpus)
    with pytest.raises(UnknownUtterances, match="not in feature set"):
        feature_matrices(feature_set=feature_set, utterance_ids=[pk_of(corpus, "one"), 987654])


def test_extract_features_command_shows_counts_then_reuses_the_cache(corpus, capsys):
    call_command("extract_features", "--corpus", "feat")
    first = capsys.readouterr().out
    assert "extracted in" in first
    assert "3 utterances with frames, 36 frames stored (42 before frame selection, 6 dropped)" in first
    call_command("extract_features", "--corpus", "feat")
    assert "cache reused, nothing extracted" in capsys.readouterr().out


def test_extract_features_command_names_an_unknown_corpus(corpus):
    with pytest.raises(CommandError, match=r"no corpus named 'nope' \(corpora: feat\)"):
        call_command("extract_features", "--corpus", "nope")


def test_extract_features_command_reports_a_failure_naming_the_utterance(corpus):
    Utterance.objects.get(corpus=corpus, name="two").audio_file.unlink()
    with pytest.raises(CommandError, match="feature extraction failed: utterance two"):
        call_command("extract_features", "--corpus", "feat")


def test_a_chunk_message_from_an_older_plan_does_nothing(corpus):
    feature_set = services.feature_set_prepare(corpus=corpus)
    assert services.feature_chunk_extract(feature_set_id=feature_set.pk, chunk_index=99) is False
    feature_set.refresh_from_db()
    assert feature_set.status == FeatureSet.Status.PENDING and feature_set.error == ""


def test_an_unexpected_error_fails_the_set_and_says_what_it_was(corpus, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(services, "write_shard", disk_full)
    with pytest.raises(OSError):
        feature_set_ensure(corpus=corpus)
    feature_set = FeatureSet.objects.get()
    assert feature_set.status == FeatureSet.Status.FAILED
    assert feature_set.error == "OSError: No space left on device"
    # The next run, with space again, starts over from what is on disk and finishes.
    monkeypatch.undo()
    assert feature_set_ensure(corpus=corpus).status == FeatureSet.Status.READY


def test_extract_features_with_workers_hands_the_chunks_to_celery(corpus, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("extract_features", "--corpus", "feat", "--workers")
    assert "1 chunks handed to the Celery workers" in capsys.readouterr().out
    assert len(callbacks) == 1  # the enqueueing waits for the commit
    assert FeatureSet.objects.get().status == FeatureSet.Status.RUNNING


def test_the_admin_lists_and_shows_feature_sets_read_only(corpus, client, admin_user):
    from tests.factories import TEST_PASSWORD

    feature_set = feature_set_ensure(corpus=corpus)
    admin_user.is_superuser = True  # the demo's admin account is a superuser too
    admin_user.save()
    client.login(username=admin_user.username, password=TEST_PASSWORD)
    listing = client.get("/admin/models_app/featureset/")
    assert listing.status_code == 200 and b"feat" in listing.content
    page = client.get(f"/admin/models_app/featureset/{feature_set.pk}/change/")
    assert page.status_code == 200 and feature_set.config_hash.encode() in page.content
    assert client.get("/admin/models_app/featureset/add/").status_code == 403
