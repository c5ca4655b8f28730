"""espeak-ng from ctypes, through the library the PyPI package ``espeakng-loader`` ships.

The C API (``speak_lib.h``) is process-global and not thread-safe, so every call goes through one
lock. Synchronous output mode hands the samples (16-bit, 22,050 Hz, mono) to a callback while
``espeak_Synth`` runs.

Why the library is loaded afresh for every synthesis: espeak-ng keeps state in C statics between
calls (in ``wavegen.c``, e.g. the pitch-flutter index), and neither espeak_Initialize nor a fixed
random seed resets them (measured: same text, voice and seed, different output after other text).
The same text with the same voice then comes out a few hundred samples longer or shorter depending
on what was spoken before, so a corpus would depend on the order of synthesis. Loading a private
copy of the library, speaking, and unloading it again (about 2 ms) starts every synthesis from the
library's initial state: the output depends only on the arguments. The copy has its own file, so
another user of ``espeakng-loader`` in the same process cannot keep it loaded.

espeak-ng also has a random generator of its own (used by some voice variants), which
espeak_Initialize seeds from the clock; ``espeak_ng_SetRandSeed`` (espeak-ng 1.52) reseeds it
from the caller's seed, so the output is the same on every run, not only within one second.
"""

import _ctypes
import atexit
import ctypes
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ESPEAK_SAMPLE_RATE = 22050  # Hz; what espeak-ng's formant synthesizer produces

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit() when data is missing
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_SSML = 0x10
_EE_OK = 0
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7

RATE_LIMITS = (80, 450)  # words per minute, espeak's documented range
VOLUME_LIMITS = (0, 200)  # 100 = normal; above it espeak compresses
PITCH_LIMITS = (0, 100)  # base pitch, 50 = the voice's normal
RANGE_LIMITS = (0, 100)  # pitch range, 0 = monotone, 50 = normal


class EspeakError(RuntimeError):
    """espeak-ng could not be loaded, initialised, or refused a voice or text."""


@dataclass(frozen=True)
class SpeechParameters:
    """espeak-ng's prosody controls, in its own units (checked against its documented ranges)."""

    rate_wpm: int = 175
    volume: int = 100
    pitch: int = 50
    pitch_range: int = 50
    word_gap_10ms: int = 0  # extra pause between words, in units of 10 ms

    def __post_init__(self):
        for name, value, (low, high) in (
            ("rate_wpm", self.rate_wpm, RATE_LIMITS),
            ("volume", self.volume, VOLUME_LIMITS),
            ("pitch", self.pitch, PITCH_LIMITS),
            ("pitch_range", self.pitch_range, RANGE_LIMITS),
            ("word_gap_10ms", self.word_gap_10ms, (0, 100)),
        ):
            if not low <= value <= high:
                raise ValueError(f"{name}={value} outside espeak-ng's range {low}..{high}")


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_lock = threading.Lock()
_chunks: list[np.ndarray] = []  # filled by the callback while the lock is held
_private_copy: Path | None = None


def _collect_samples(wav, n_samples, _events):
    # wav is NULL at the end of synthesis; n_samples may be 0 mid-stream (not the end).
    if wav and n_samples > 0:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
    return 0  # 0 = continue synthesis


# Kept at module level: the C library holds a raw pointer to it.
_callback = _SynthCallback(_collect_samples)


def _library_paths() -> tuple[str, bytes]:
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - it is in requirements.txt
        raise EspeakError("the package espeakng-loader is not installed (pip install espeakng-loader)") from exc
    library = Path(espeakng_loader.get_library_path())
    try:
        data = espeakng_loader.get_data_path()
    except RuntimeError as exc:
        raise EspeakError(f"espeak-ng data folder missing: {exc}") from exc
    if not library.is_file():
        raise EspeakError(f"espeak-ng library not found at {library}")
    return str(library), data.encode()


def _private_library() -> tuple[str, bytes]:
    """Path of this process's own copy of the library (made once), and the data path."""
    global _private_copy
    library, data = _library_paths()
    if _private_copy is None or not _private_copy.is_file():
        try:
            folder = Path(tempfile.mkdtemp(prefix="emolab-espeak-"))
            atexit.register(shutil.rmtree, folder, True)
            copy = folder / "libespeak-ng-private.so"
            shutil.copyfile(library, copy)
        except OSError as exc:
            raise EspeakError(
                f"cannot make a private copy of the espeak-ng library in {tempfile.gettempdir()}: {exc}"
            ) from exc
        _private_copy = copy
    return str(_private_copy), data


def _declare(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.restype = ctypes.c_int
    lib.espeak_Terminate.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ng_SetRandSeed.restype = ctypes.c_int


def _check(result: int, what: str) -> None:
    if result != _EE_OK:
        raise EspeakError(f"espeak-ng refused {what} (error code {result})")


def synthesize_speech(
    text: str,
    *,
    voice: str,
    parameters: SpeechParameters = SpeechParameters(),
    ssml: bool = False,
    random_seed: int = 0,
) -> np.ndarray:
    """Speak ``text`` with an espeak-ng voice (``"en-us+f3"``: language + variant).

    ``ssml=True`` lets the text carry SSML (``<prosody pitch="+20%">``) for per-word changes.
    ``random_seed`` seeds espeak-ng's own random generator (some variants add random variation).
    Returns int16 samples, shape (n,), at ESPEAK_SAMPLE_RATE (22,050 Hz). The result depends only
    on the arguments (see the module docstring). Raises EspeakError for an unknown voice or when
    espeak-ng produces no sound.
    """
    if not text.strip():
        raise ValueError("nothing to say: empty text")
    if not voice.isascii() or not voice.strip():
        raise EspeakError(f"invalid voice name {voice!r}")
    with _lock:
        library_path, data_path = _private_library()
        try:
            lib = ctypes.CDLL(library_path)
        except OSError as exc:
            raise EspeakError(f"cannot load espeak-ng from {library_path}: {exc}") from exc
        try:
            try:
                _declare(lib)
            except AttributeError as exc:
                raise EspeakError(f"this espeak-ng lacks a function emolab needs (1.52 or later): {exc}") from exc
            sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _INITIALIZE_DONT_EXIT)
            if sample_rate != ESPEAK_SAMPLE_RATE:
                raise EspeakError(f"espeak-ng initialisation failed (returned {sample_rate}); data path {data_path!r}")
            try:
                samples = _speak(lib, text.encode("utf-8"), voice, parameters, ssml, random_seed)
            finally:
                lib.espeak_Terminate()  # frees what espeak allocated before the library goes
        finally:
            _ctypes.dlclose(lib._handle)
    if samples.size == 0 or not np.any(samples):
        raise EspeakError(f"espeak-ng produced no sound for {text[:40]!r} with voice {voice!r}")
    return samples


def _speak(
    lib: ctypes.CDLL, encoded: bytes, voice: str, parameters: SpeechParameters, ssml: bool, random_seed: int
) -> np.ndarray:
    """One synthesis on an initialised library; the caller holds the lock."""
    lib.espeak_SetSynthCallback(_callback)
    _check(lib.espeak_ng_SetRandSeed(random_seed), "the random seed")
    _check(lib.espeak_SetVoiceByName(voice.encode("ascii")), f"the voice {voice!r}")
    for parameter, value in (
        (_PARAM_RATE, parameters.rate_wpm),
        (_PARAM_VOLUME, parameters.volume),
        (_PARAM_PITCH, parameters.pitch),
        (_PARAM_RANGE, parameters.pitch_range),
        (_PARAM_WORDGAP, parameters.word_gap_10ms),
    ):
        _check(lib.espeak_SetParameter(parameter, int(value), 0), f"parameter {parameter}={value}")
    _chunks.clear()
    try:
        flags = _CHARS_UTF8 | (_SSML if ssml else 0)
        _check(lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, flags, None, None), "the text")
        _check(lib.espeak_Synchronize(), "synchronisation")
        return np.concatenate(_chunks).astype(np.int16, copy=False) if _chunks else np.zeros(0, dtype=np.int16)
    finally:
        _chunks.clear()
