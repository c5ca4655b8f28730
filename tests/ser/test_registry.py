"""The method registry: every config setting reaches its estimator, rows and titles are one list."""

from dataclasses import asdict, fields, replace

import pytest

from models_app.ser.config import PRESET_NAMES, preset
from models_app.ser.registry import CTC_ROWS, METHOD_NAMES, METHODS, ROW_NAMES, build_estimator, row_title


def _sections_of(method: str) -> list[str]:
    return {
        "dummy": [],
        "framewise": ["framewise"],
        "onelabel": ["network", "training"],
        "ctc": ["network", "training", "ctc"],
        "utterance_stats": ["utterance_stats"],
    }[method]


@pytest.mark.parametrize("method", METHOD_NAMES)
@pytest.mark.parametrize("preset_name", PRESET_NAMES)
def test_every_config_field_of_a_methods_sections_reaches_its_estimator(method, preset_name):
    config = replace(preset(preset_name), seed=7, n_threads=3)
    params = build_estimator(method, config).get_params()
    assert params["random_state"] == 7
    for section in _sections_of(method):
        for name, value in asdict(getattr(config, section)).items():
            if name.endswith("_class_weight"):
                continue  # one per network, checked below
            assert params[name] == value, (method, section, name)
    if method in ("onelabel", "ctc"):
        assert params["n_threads"] == 3
        assert params["class_weight"] == getattr(config.training, f"{method}_class_weight")
    if method in ("framewise", "utterance_stats"):
        assert params["n_jobs"] == 3


def test_a_changed_setting_changes_the_estimator():
    config = preset("fast")
    changed = replace(config, network=replace(config.network, hidden_units=17), ctc=replace(config.ctc, beam_width=3))
    params = build_estimator("ctc", changed).get_params()
    assert (params["hidden_units"], params["beam_width"]) == (17, 3)
    assert build_estimator("onelabel", changed).get_params()["hidden_units"] == 17


@pytest.mark.parametrize(
    "features, standardize, expected",
    [
        ("pyaudioanalysis34", False, False),  # the authors fed the paper's set raw
        ("pyaudioanalysis34", True, True),  # run_experiment --standardize
        ("egemaps", False, True),  # the openSMILE sets always are
        ("compare", False, True),
    ],
)
def test_which_feature_sets_the_networks_standardise(features, standardize, expected):
    config = replace(preset("best"), features=features)
    config = replace(config, network=replace(config.network, standardize=standardize))
    for method in ("onelabel", "ctc"):
        assert build_estimator(method, config).get_params()["standardize"] is expected


def test_every_estimator_argument_comes_from_the_config():
    """No estimator argument keeps its class default silently: each one is set from a config field."""
    config = preset("paper")
    for method in METHODS.values():
        given = method.parameters(config)
        accepted = set(method.estimator_class()().get_params())
        assert set(given) == accepted, method.name


def test_rows_titles_and_order():
    assert METHOD_NAMES == ("dummy", "framewise", "onelabel", "ctc", "utterance_stats")
    assert ROW_NAMES == ("dummy", "framewise", "onelabel", "ctc", "ctc_best_path", "ctc_exact", "utterance_stats")
    assert CTC_ROWS == ("ctc", "ctc_best_path", "ctc_exact")
    assert [row.decoder for row in METHODS["ctc"].rows] == ["beam", "best_path", "exact"]
    assert row_title("ctc") == "CTC (beam search)" and row_title("onelabel") == "One-label"
    assert METHODS["ctc"].rows[2].long_title == "CTC BLSTM (exact single label)"
    assert row_title("something_new") == "something_new"
    assert [name for name, method in METHODS.items() if method.frame_outputs] == ["framewise", "ctc"]


def test_an_unknown_method_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown method 'svm'; choose from dummy, framewise"):
        build_estimator("svm", preset("fast"))


def test_config_sections_have_no_field_the_estimators_ignore():
    """A config field that no estimator takes would be a setting that changes nothing."""
    config = preset("paper")
    used = set()
    for method in METHODS.values():
        used |= set(method.parameters(config))
    for section in ("network", "training", "ctc", "framewise", "utterance_stats"):
        for field in fields(getattr(config, section)):
            assert field.name in used or field.name.endswith("_class_weight"), (section, field.name)
