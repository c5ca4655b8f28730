"""Corpus imports from the browser and the API: an uploaded archive or a server folder, run by the
import task through the one importer; bad archives refused with the reason and nothing written
outside the corpus's folder; cancelled or failed imports leave no corpus; re-imports change nothing."""

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.importers.archives import UnsafeArchive, extract_archive
from annotation.models import Corpus, CorpusImport, Utterance
from annotation.services import corpus_imports
from emolab.celery import app
from tests.factories import make_user, tone, write_wav

EMODB_NAMES = ["03a01Fa.wav", "08a02Wb.wav", "10b01Nc.wav", "16b10Tc.wav", "09a05Lb.wav", "03a02Wa.wav"]


@pytest.fixture
def sent(monkeypatch):
    """The tasks the service asks to send once its transaction commits (run here by calling the
    service, as the worker would)."""
    calls = []
    monkeypatch.setattr(corpus_imports, "enqueue_after_commit", lambda name, *args: calls.append((name, args)))
    monkeypatch.setattr(app, "send_task", lambda name, args: pytest.fail("nothing is sent to a broker here"))
    return calls


@pytest.fixture
def emodb_tree(tmp_path):
    root = tmp_path / "src" / "emodb"
    for index, name in enumerate(EMODB_NAMES):
        write_wav(root / "wav" / name, tone(0.3, frequency=150 + 25 * index, seed=index))
    (root / "README.md").write_text("EmoDB, a few files")
    return root


def zip_of(folder: Path, *, prefix: str = "emodb/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_with(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def tar_with(entries: dict[str, bytes], links: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            archive.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def wav_bytes(tmp_path):
    return write_wav(tmp_path / "one.wav", tone(0.3)).read_bytes()


def _post(api_client, user, content: bytes, *, name="emodb", format="emodb", filename="emodb.zip", **extra):
    api_client.force_authenticate(user)
    data = {"name": name, "format": format, "archive": SimpleUploadedFile(filename, content), **extra}
    return api_client.post("/api/corpora/imports/", data, format="multipart")


def _run(import_id: int) -> CorpusImport:
    corpus_imports.corpus_import_run(import_id=import_id)
    return CorpusImport.objects.get(pk=import_id)


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) if folder.exists() else []


# --- the happy path ---------------------------------------------------------------------------------


def test_an_uploaded_emodb_zip_is_imported_by_the_task_with_progress_and_counts(
    api_client, researcher, media_root, emodb_tree, sent
):
    response = _post(api_client, researcher, zip_of(emodb_tree))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["page"] == f"/corpora/imports/{body['id']}/"
    assert sent == [(corpus_imports.RUN_TASK, (body["id"],))]
    assert not Corpus.objects.exists()  # nothing before the task

    job = _run(body["id"])
    assert job.status == "succeeded", job.error
    corpus = Corpus.objects.get(name="emodb")
    assert job.corpus == corpus and corpus.utterances.count() == len(EMODB_NAMES)
    assert Path(corpus.source_path) == media_root / "corpora" / "emodb"  # the top folder was descended
    assert (Path(corpus.source_path) / "wav" / "03a01Fa.wav").is_file()
    assert _files_under(media_root / "imports") == []  # the upload is gone
    state = api_client.get(f"/api/corpora/imports/{job.pk}/").json()
    assert (state["status"], state["progress"], state["corpus"]) == ("succeeded", 1.0, "emodb")
    assert state["counts"]["created"] == len(EMODB_NAMES) and state["counts"]["n_speakers"] == 5
    assert state["skipped"] == []


def test_an_archive_larger_than_the_json_body_limit_is_accepted_up_to_its_own_limit(
    api_client, researcher, media_root, wav_bytes, sent, settings
):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # stored: the body is as large as the files
        archive.writestr("wav/03a01Fa.wav", wav_bytes)
        archive.writestr("wav/padding.bin", bytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1_000_000))
    assert _post(api_client, researcher, buffer.getvalue()).status_code == 201
    settings.EMOLAB_IMPORT_MAX_UPLOAD_BYTES = 1_000_000
    response = _post(api_client, researcher, buffer.getvalue(), name="other")
    assert response.status_code == 413 and "EMOLAB_IMPORT_MAX_UPLOAD_BYTES" in response.json()["detail"]


def test_reimporting_the_same_archive_changes_nothing(api_client, researcher, media_root, emodb_tree, sent):
    content = zip_of(emodb_tree)
    first = _run(_post(api_client, researcher, content).json()["id"])
    ids = sorted(Utterance.objects.values_list("pk", "audio_sha256"))
    second = _run(_post(api_client, researcher, content).json()["id"])
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert (second.report["created"], second.report["updated"], second.report["unchanged"]) == (0, 0, len(EMODB_NAMES))
    assert sorted(Utterance.objects.values_list("pk", "audio_sha256")) == ids
    assert Corpus.objects.count() == 1


def test_skipped_files_are_listed_with_their_reasons(api_client, researcher, media_root, emodb_tree, sent):
    write_wav(emodb_tree / "wav" / "notes.wav", tone(0.3))
    job = _run(_post(api_client, researcher, zip_of(emodb_tree)).json()["id"])
    state = api_client.get(f"/api/corpora/imports/{job.pk}/").json()
    assert [item["path"].rsplit("/", 1)[1] for item in state["skipped"]] == ["notes.wav"]
    assert "does not follow EmoDB's" in state["skipped"][0]["reason"]


# --- bad archives -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda wav: zip_with({"emodb/wav/03a01Fa.wav": wav, "../evil.wav": wav}), "'..'"),
        (lambda wav: zip_with({"emodb/wav/03a01Fa.wav": wav, "emodb/wav/../../../evil.wav": wav}), "'..'"),
        (lambda wav: zip_with({"/tmp/evil.wav": wav}), "absolute path"),
        (lambda wav: zip_with({"C:/evil.wav": wav}), "absolute path"),
        (lambda wav: zip_with({"wav/03a01Fa.wav": wav}, symlinks={"wav/link.wav": "/etc/passwd"}), "symbolic link"),
        (lambda wav: tar_with({"wav/03a01Fa.wav": wav, "../evil.wav": wav}), "'..'"),
        (lambda wav: tar_with({"/evil.wav": wav}), "absolute path"),
        (
            lambda wav: tar_with({"wav/03a01Fa.wav": wav}, links={"wav/l.wav": (tarfile.SYMTYPE, "/etc")}),
            "symbolic link",
        ),
        (lambda wav: tar_with({"wav/03a01Fa.wav": wav}, links={"wav/h.wav": (tarfile.LNKTYPE, "x")}), "hard link"),
        (lambda wav: tar_with({"wav/03a01Fa.wav": wav}, links={"wav/f": (tarfile.FIFOTYPE, "")}), "special file"),
        (lambda wav: zip_with({"emodb/README.md": b"words", "emodb/notes.txt": b"more"}), "no audio files"),
        (lambda wav: b"this is not an archive at all", "not a zip or tar.gz"),
        (lambda wav: zip_with({"wav/03a01Fa.wav": wav})[:200], "damaged or incomplete"),  # cut short
    ],
)
def test_bad_archives_answer_400_with_the_reason_and_leave_nothing(
    api_client, researcher, media_root, wav_bytes, sent, content, reason, tmp_path
):
    response = _post(api_client, researcher, content(wav_bytes))
    assert response.status_code == 400, response.content
    assert reason in response.json()["detail"]
    assert response.json().get("field") == "archive"
    assert not CorpusImport.objects.exists() and not Corpus.objects.exists() and sent == []
    assert _files_under(media_root) in ([], ["imports"])
    assert not (media_root.parent / "evil.wav").exists() and not (tmp_path / "evil.wav").exists()


def test_an_archive_bomb_is_refused_by_size_and_by_file_count(
    api_client, researcher, media_root, wav_bytes, sent, settings
):
    settings.EMOLAB_IMPORT_MAX_BYTES = 1_000_000
    bomb = zip_with({"wav/03a01Fa.wav": wav_bytes, "wav/zeros.wav": bytes(5_000_000)})  # 5 MB of zeros, ~5 kB zipped
    assert len(bomb) < 100_000
    response = _post(api_client, researcher, bomb)
    assert response.status_code == 400 and "EMOLAB_IMPORT_MAX_BYTES" in response.json()["detail"]
    settings.EMOLAB_IMPORT_MAX_BYTES = 10**9
    settings.EMOLAB_IMPORT_MAX_FILES = 3
    many = zip_with({f"wav/0{k}a01Fa.wav": wav_bytes for k in range(3, 8)})
    response = _post(api_client, researcher, many)
    assert response.status_code == 400 and "EMOLAB_IMPORT_MAX_FILES" in response.json()["detail"]
    assert _files_under(media_root) in ([], ["imports"])


def test_an_archive_that_lies_about_its_sizes_is_stopped_while_unpacking(tmp_path, wav_bytes):
    archive_path = tmp_path / "liar.zip"
    archive_path.write_bytes(zip_with({"wav/03a01Fa.wav": wav_bytes, "wav/big.wav": bytes(300_000)}))
    # Rewrite the declared size of big.wav in the central directory and local header to 10 bytes.
    data = bytearray(archive_path.read_bytes())
    with zipfile.ZipFile(archive_path) as archive:
        info = archive.getinfo("wav/big.wav")
    for offset in (info.header_offset + 22,):  # local header: uncompressed size
        data[offset : offset + 4] = (10).to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02", 0, len(data))
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive_path.write_bytes(bytes(data))
    target = tmp_path / "out"
    with pytest.raises((UnsafeArchive, zipfile.BadZipFile)):
        extract_archive(archive_path, target, max_bytes=200_000, max_files=10)
    assert not target.exists()


def test_a_format_that_does_not_match_its_files_fails_with_the_reason_and_leaves_no_corpus(
    api_client, researcher, media_root, wav_bytes, sent
):
    ravdess = zip_with({"Actor_01/03-01-05-01-01-01-01.wav": wav_bytes, "Actor_02/03-01-01-01-01-01-02.wav": wav_bytes})
    response = _post(api_client, researcher, ravdess, name="mislabelled", format="emodb")
    assert response.status_code == 201
    job = _run(response.json()["id"])
    assert job.status == "failed" and job.error
    assert not Corpus.objects.exists()
    assert _files_under(media_root / "corpora") == []  # the unpacked files were removed


# --- server folders -------------------------------------------------------------------------------------


def test_a_folder_inside_an_import_root_is_imported_in_place(api_client, researcher, emodb_tree, sent, settings):
    settings.EMOLAB_IMPORT_ROOTS = [emodb_tree.parent]
    api_client.force_authenticate(researcher)
    response = api_client.post(
        "/api/corpora/imports/", {"name": "emodb", "format": "emodb", "folder": str(emodb_tree)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    job = _run(response.json()["id"])
    assert job.status == "succeeded", job.error
    assert Corpus.objects.get(name="emodb").source_path == str(emodb_tree.resolve())


def test_folders_outside_the_roots_are_refused_symlinks_included(
    api_client, researcher, tmp_path, emodb_tree, sent, settings
):
    root = tmp_path / "allowed"
    root.mkdir()
    settings.EMOLAB_IMPORT_ROOTS = [root]
    os.symlink(emodb_tree, root / "sneaky")
    api_client.force_authenticate(researcher)
    for folder in (str(emodb_tree), str(root / "sneaky"), str(root / ".." / "src" / "emodb"), "relative/path"):
        response = api_client.post(
            "/api/corpora/imports/", {"name": "emodb", "format": "emodb", "folder": folder}, format="multipart"
        )
        assert response.status_code == 400, folder
        assert response.json()["field"] == "folder"
    settings.EMOLAB_IMPORT_ROOTS = []
    response = api_client.post(
        "/api/corpora/imports/", {"name": "emodb", "format": "emodb", "folder": str(emodb_tree)}, format="multipart"
    )
    assert response.status_code == 400 and "switched off" in response.json()["detail"]
    assert not CorpusImport.objects.exists() and sent == []


# --- cancelling -----------------------------------------------------------------------------------------


def test_a_queued_import_is_cancelled_at_once_and_its_upload_removed(
    api_client, researcher, media_root, emodb_tree, sent
):
    job_id = _post(api_client, researcher, zip_of(emodb_tree)).json()["id"]
    response = api_client.post(f"/api/corpora/imports/{job_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert _files_under(media_root / "imports") == []
    assert _run(job_id).status == "cancelled"  # the task, delivered later, does nothing
    assert not Corpus.objects.exists()
    assert api_client.post(f"/api/corpora/imports/{job_id}/cancel/").status_code == 409


def test_a_running_import_stops_at_its_next_report_and_leaves_no_corpus_nor_files(
    api_client, researcher, media_root, emodb_tree, sent
):
    job_id = _post(api_client, researcher, zip_of(emodb_tree)).json()["id"]
    CorpusImport.objects.filter(pk=job_id).update(cancel_requested=True)  # as a cancel during the run would
    job = _run(job_id)
    assert job.status == "cancelled"
    assert not Corpus.objects.exists()
    assert _files_under(media_root / "corpora") == [] and _files_under(media_root / "imports") == []


# --- roles and pages --------------------------------------------------------------------------------------


def test_only_researchers_and_admins_may_import(db, api_client, client, media_root, emodb_tree, sent):
    content = zip_of(emodb_tree)
    for user in (make_user("assessor"), make_user("none")):
        assert _post(api_client, user, content).status_code == 403
        client.force_login(user)
        assert client.get("/corpora/new/").status_code == 403
    api_client.force_authenticate(None)
    assert api_client.post("/api/corpora/imports/", {"name": "x", "format": "emodb"}).status_code == 401
    assert _post(api_client, make_user("admin"), content).status_code == 201


def test_the_new_corpus_page_uploads_and_shows_the_import(client, researcher, media_root, emodb_tree, sent):
    client.force_login(researcher)
    page = client.get("/corpora/new/")
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    upload = SimpleUploadedFile("emodb.zip", zip_of(emodb_tree))
    response = client.post("/corpora/new/", {"name": "emodb", "format": "emodb", "archive": upload})
    job = CorpusImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/corpora/imports/{job.pk}/"
    queued = client.get(response["Location"]).content.decode()
    assert "Cancel the import" in queued and f"/api/corpora/imports/{job.pk}/" in queued
    _run(job.pk)
    done = client.get(response["Location"]).content.decode()
    assert "Start a campaign" in done and f"{len(EMODB_NAMES)} utterances" in done
    bad = client.post(
        "/corpora/new/", {"name": "x", "format": "emodb", "archive": SimpleUploadedFile("x.zip", b"nope")}
    )
    assert bad.status_code == 400 and "not a zip or tar.gz" in bad.content.decode()


def test_the_admin_cannot_make_an_empty_corpus(db, client, media_root):
    admin = make_user("admin")
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    assert client.get("/admin/annotation/corpus/add/").status_code == 403
