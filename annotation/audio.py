"""Serving audio files with HTTP Range support, under a name that says nothing.

Browsers fetch audio in ranges (``Range: bytes=0-`` first, then other ranges when the listener
seeks); without a 206 answer seeking does not work in Chrome. Only one range per request is
served; multi-range requests get the whole file, which RFC 9110 allows.
"""

import hashlib
import os
import re
import uuid
import wave
from pathlib import Path

import numpy as np
import soundfile
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse

AUDIO_CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


class UnsatisfiableRange(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``Range`` header -> (first, last) byte, inclusive; None = serve the whole file.

    Raises UnsatisfiableRange for a range that starts past the end (answered with 416).
    """
    match = _RANGE.match(header.strip().replace(" ", "")) if header else None
    if not match:
        return None  # absent, malformed or multi-range: the whole file
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # "bytes=-500": the last 500 bytes
        suffix = int(last_text)
        if suffix == 0:
            raise UnsatisfiableRange
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size:
        raise UnsatisfiableRange
    if last < first:
        return None  # invalid: ignore the header
    return first, min(last, size - 1)


def _read_span(path: Path, first: int, last: int):
    with path.open("rb") as handle:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def audio_response(*, path: Path, range_header: str | None, download_name: str) -> HttpResponse:
    """Serve ``path`` (already checked by the caller) under ``download_name``.

    The response is private to the signed-in user (no shared cache) and names the file
    ``download_name`` (the caller passes an opaque one), never the file's own name.
    """
    if not path.is_file():
        raise Http404("audio file missing")
    size = path.stat().st_size
    content_type = AUDIO_CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    try:
        span = parse_range(range_header or "", size)
    except UnsatisfiableRange:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        if span is None:
            response = FileResponse(path.open("rb"), content_type=content_type, filename=download_name)
            response["Content-Length"] = str(size)
        else:
            first, last = span
            response = StreamingHttpResponse(_read_span(path, first, last), status=206, content_type=content_type)
            response["Content-Length"] = str(last - first + 1)
            response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'inline; filename="{download_name}"'
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def audio_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    return suffix if suffix in AUDIO_CONTENT_TYPES else ".bin"


def file_inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing (404) a path that leaves ``root`` through ``..`` or a symlink."""
    root = Path(root).resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root):
        raise Http404("audio path outside the corpus folder")
    return candidate


_BLOCK_FRAMES = 1 << 16


def assessor_audio_folder() -> Path:
    """Where the re-encoded copies that assessors hear are kept (safe to delete: they are made again)."""
    return Path(settings.MEDIA_ROOT) / "assessor-audio"


def plain_wav(source: Path, cache_dir: Path) -> Path:
    """``source`` re-encoded as plain 16-bit PCM WAV: a RIFF header with a ``fmt `` and a ``data``
    chunk and nothing else, so no tag of the original (LIST/INFO, id3, Vorbis comments, cue
    points, the encoder's name) reaches the assessor's browser. Same sample rate and channels.

    Kept under ``cache_dir`` (MEDIA_ROOT, shared by the web machines) under a name drawn from the
    source's path, size and modification time, so a changed file is encoded again; written to a
    temporary name and renamed, so concurrent first requests never serve half a file. Decoded in
    blocks: memory stays bounded whatever the recording's length. Raises Http404 for a file that
    is missing or cannot be decoded.
    """
    try:
        stat = source.stat()
    except OSError as exc:
        raise Http404("audio file missing") from exc
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:40]
    target = cache_dir / f"{key}.wav"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = cache_dir / f".{key}.{uuid.uuid4().hex}.part"
    try:
        with soundfile.SoundFile(str(source)) as decoded, wave.open(str(temporary), "wb") as out:
            out.setnchannels(decoded.channels)
            out.setsampwidth(2)
            out.setframerate(decoded.samplerate)
            for block in decoded.blocks(blocksize=_BLOCK_FRAMES, dtype="int16", always_2d=True):
                out.writeframes(np.ascontiguousarray(block, dtype="<i2").tobytes())
        os.replace(temporary, target)
    except (soundfile.LibsndfileError, RuntimeError, wave.Error) as exc:
        raise Http404("audio file cannot be decoded") from exc
    finally:
        temporary.unlink(missing_ok=True)
    return target
