"""Uploaded corpus archives (zip, tar.gz): checked before anything is written, then unpacked
into one folder and nowhere else.

Refused, with the member named: absolute paths and drive letters, ``..`` anywhere, symlinks and
hard links, devices and other special files, more than ``max_files`` files or more than
``max_bytes`` uncompressed (an archive bomb), and an archive holding no audio. The sizes an
archive declares are checked first and the bytes actually written are counted as well, so an
archive that lies about its sizes is stopped too. Nothing here knows Django.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
# Written by archivers beside the files; never part of a corpus.
IGNORED_PARTS = ("__MACOSX",)
IGNORED_NAMES = (".DS_Store", "Thumbs.db")
_COPY_BLOCK = 1 << 20


class UnsafeArchive(ValueError):
    """The archive cannot be imported; the message says why, naming the member at fault."""


@dataclass(frozen=True)
class Member:
    name: str  # the checked relative POSIX path
    size: int  # declared uncompressed size
    is_dir: bool


@dataclass(frozen=True)
class ArchiveSummary:
    kind: str  # "zip" or "tar.gz"
    n_files: int
    n_bytes: int
    n_audio: int


def archive_kind(path: Path) -> str:
    with Path(path).open("rb") as handle:
        magic = handle.read(4)
    if magic[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if magic[:2] == b"\x1f\x8b":
        return "tar.gz"
    raise UnsafeArchive("not a zip or tar.gz archive")


def _checked_name(raw: str) -> str | None:
    """The member's relative path, or None for an ignored one; UnsafeArchive if it could leave the folder."""
    if "\x00" in raw:
        raise UnsafeArchive(f"{raw!r}: a NUL character in a file name")
    name = raw.replace("\\", "/")  # a zip made on Windows may use backslashes: treat them as separators
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"{raw}: an absolute path; archive members must be relative")
    parts = [part for part in PurePosixPath(name).parts if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"{raw}: '..' in a path would write outside the corpus's folder")
    if not parts or any(part in IGNORED_PARTS for part in parts) or parts[-1] in IGNORED_NAMES:
        return None
    return "/".join(parts)


def _zip_members(archive: zipfile.ZipFile) -> Iterator[tuple[Member, zipfile.ZipInfo]]:
    for info in archive.infolist():
        name = _checked_name(info.filename)
        mode = info.external_attr >> 16
        if name is None:
            continue
        if stat.S_ISLNK(mode):
            raise UnsafeArchive(f"{info.filename}: a symbolic link; archives may hold only files and folders")
        kind = stat.S_IFMT(mode)  # 0 when the archiver recorded no file type (a plain file)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchive(f"{info.filename}: a special file; archives may hold only files and folders")
        yield Member(name, info.file_size, info.is_dir()), info


def _tar_members(archive: tarfile.TarFile) -> Iterator[tuple[Member, tarfile.TarInfo]]:
    for info in archive:
        name = _checked_name(info.name)
        if name is None:
            continue
        if info.issym() or info.islnk():
            raise UnsafeArchive(
                f"{info.name}: a {'symbolic' if info.issym() else 'hard'} link; "
                "archives may hold only files and folders"
            )
        if not (info.isfile() or info.isdir()):
            raise UnsafeArchive(f"{info.name}: a special file; archives may hold only files and folders")
        yield Member(name, info.size, info.isdir()), info


class _Budget:
    def __init__(self, max_bytes: int, max_files: int):
        self.max_bytes, self.max_files = max_bytes, max_files
        self.n_files = self.n_bytes = self.n_audio = 0

    def add(self, member: Member) -> None:
        if member.is_dir:
            return
        self.n_files += 1
        self.n_bytes += member.size
        self.n_audio += member.name.lower().endswith(AUDIO_SUFFIXES)
        if self.n_files > self.max_files:
            raise UnsafeArchive(f"more than {self.max_files} files (EMOLAB_IMPORT_MAX_FILES)")
        self._check_bytes()

    def _check_bytes(self) -> None:
        if self.n_bytes > self.max_bytes:
            raise UnsafeArchive(f"more than {self.max_bytes / 1e9:.1f} GB once unpacked (EMOLAB_IMPORT_MAX_BYTES)")


def inspect_archive(path: Path, *, max_bytes: int, max_files: int) -> ArchiveSummary:
    """Check every member's name, type and the declared totals without writing anything."""
    kind = archive_kind(path)
    budget = _Budget(max_bytes, max_files)
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                for member, _ in _zip_members(archive):
                    budget.add(member)
        else:
            with tarfile.open(path, mode="r:gz") as archive:
                for member, _ in _tar_members(archive):
                    budget.add(member)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise UnsafeArchive(f"the archive is damaged or incomplete ({exc})") from None
    if budget.n_audio == 0:
        raise UnsafeArchive(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in the archive")
    return ArchiveSummary(kind, budget.n_files, budget.n_bytes, budget.n_audio)


def extract_archive(path: Path, target: Path, *, max_bytes: int, max_files: int, progress=None) -> ArchiveSummary:
    """Unpack into ``target`` (created; must not exist), checking every member again as it goes
    and counting the bytes actually written. ``progress(done, total)`` after each file.
    On any error the partly written folder is removed."""
    summary = inspect_archive(path, max_bytes=max_bytes, max_files=max_files)
    target = Path(target)
    target.mkdir(parents=True)
    written = _Budget(max_bytes, max_files)
    try:
        if summary.kind == "zip":
            with zipfile.ZipFile(path) as archive:
                for member, info in _zip_members(archive):
                    _write(target, member, lambda info=info: archive.open(info), written, progress, summary)
        else:
            with tarfile.open(path, mode="r:gz") as archive:
                for member, info in _tar_members(archive):
                    _write(target, member, lambda info=info: archive.extractfile(info), written, progress, summary)
    except FileExistsError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise UnsafeArchive(f"{exc.filename}: appears twice in the archive") from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise UnsafeArchive(f"the archive is damaged or incomplete ({exc})") from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return summary


def _write(target: Path, member: Member, open_member, written: _Budget, progress, summary: ArchiveSummary) -> None:
    destination = target.joinpath(*member.name.split("/"))
    # Checked names cannot leave the folder; make sure of it all the same (and no folder on the
    # way is a link: nothing here creates one).
    if not destination.resolve().is_relative_to(target.resolve()):
        raise UnsafeArchive(f"{member.name}: would be written outside the corpus's folder")
    if member.is_dir:
        destination.mkdir(parents=True, exist_ok=True)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    written.add(Member(member.name, 0, False))  # the file count; bytes are counted as they come
    source = open_member()
    if source is None:
        raise UnsafeArchive(f"{member.name}: cannot be read from the archive")
    with source, destination.open("xb") as sink:
        while block := source.read(_COPY_BLOCK):
            written.n_bytes += len(block)
            written._check_bytes()
            sink.write(block)
    if progress:
        progress(written.n_files, summary.n_files)


def release_root(folder: Path) -> Path:
    """The folder that holds the corpus: an archive of a folder (``emodb/wav/...``) has one
    top-level folder and nothing beside it; descend into it."""
    folder = Path(folder)
    while True:
        entries = [entry for entry in folder.iterdir() if entry.name not in IGNORED_NAMES + IGNORED_PARTS]
        if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
            folder = entries[0]
            continue
        return folder
