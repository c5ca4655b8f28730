"""bench_features: the figures it prints and writes (not a timing test: no speed is asserted)."""

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("source", ["synthetic", "espeak"])
def test_bench_features_times_both_extractors_and_writes_the_figures(tmp_path, capsys, source):
    path = tmp_path / "bench.json"
    call_command("bench_features", "--seconds", "3", "--source", source, "--repeats", "1", "--json", str(path))
    printed = capsys.readouterr().out
    for label in ("pyAudioAnalysis:", "speed-up:", "real-time factor:", "FFTs alone:", "max |deviation|:"):
        assert label in printed
    figures = json.loads(path.read_text())
    assert {"speedup", "realtime_factor", "max_abs_dev", "max_rel_dev", "fft_share"} <= figures.keys()
    assert figures["n_frames"] == (3 * 16000 - 3200) // 1600 + 1
    assert figures["audio_seconds"] == pytest.approx(3.0)
    assert figures["max_rel_dev"] < 1e-6  # the same numbers as pyAudioAnalysis (float32 rounding)
    assert all(np.isfinite(figures[k]) and figures[k] > 0 for k in ("speedup", "realtime_factor", "fft_share"))


def test_bench_features_refuses_a_too_short_signal():
    with pytest.raises(CommandError, match="--seconds must exceed 0.5"):
        call_command("bench_features", "--seconds", "0.1")


@pytest.mark.django_db
def test_layout_comparison_needs_a_ready_feature_set(tmp_path):
    with pytest.raises(CommandError, match="no corpus named 'nope'"):
        call_command("bench_features", "--layouts", "--corpus", "nope")
