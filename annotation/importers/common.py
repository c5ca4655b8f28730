"""Helpers every parser shares: the error for a source that cannot be read at all, and listing
audio files without macOS metadata."""

from pathlib import Path


class SourceError(Exception):
    """The source as a whole cannot be imported (missing folder, not this corpus's layout, a
    manifest path leaving its folder). The message names the offending path; nothing is written."""


def is_apple_double(path: Path) -> bool:
    """macOS writes ``._name`` metadata files beside real ones when copying to non-Mac disks;
    they carry a real file's extension but hold no audio or text."""
    return path.name.startswith("._")


def require_folder(path: Path, what: str) -> Path:
    if not path.exists():
        raise SourceError(f"{what} not found: {path}")
    if not path.is_dir():
        raise SourceError(f"{what} is not a folder: {path}")
    return path


def wav_files(folder: Path) -> tuple[list[Path], int]:
    """The ``.wav`` files directly in ``folder`` (any case of the extension), sorted by name,
    and how many AppleDouble ``._*.wav`` files were left out."""
    wavs, n_apple_double = [], 0
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".wav":
            continue
        if is_apple_double(path):
            n_apple_double += 1
            continue
        wavs.append(path)
    return wavs, n_apple_double


def apple_double_warning(n_apple_double: int) -> list[str]:
    if not n_apple_double:
        return []
    return [f"left out {n_apple_double} macOS AppleDouble metadata file(s) (._*), which hold no audio"]
