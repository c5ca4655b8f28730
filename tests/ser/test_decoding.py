"""CTC decoders against probability matrices worked out by hand (and torch's CTC loss as an
independent implementation of the forward algorithm)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models_app.ser import decoding

# Columns [a, b, blank]: blank LAST, as in the paper preset. Two frames where "nothing" is the
# most probable path but "a" is the most probable labeling: best path and beam search disagree.
#   p(())    = .6 * .6                          = .36
#   p((a,))  = aa + a- + -a = .1225 + .21 + .21 = .5425
#   p((b,))  = bb + b- + -b = .0025 + .03 + .03 = .0625
#   p((a,b)) = p((b,a)) = .35 * .05             = .0175     (all five sum to 1)
DISAGREE = np.array([[0.35, 0.05, 0.6], [0.35, 0.05, 0.6]])
BLANK_LAST = 2


def test_collapse_merges_repeats_then_drops_blanks():
    # The paper's example M(-aa-b-b--ccc) = abbc with blank "-" = 9, a=0, b=1, c=2.
    path = [9, 0, 0, 9, 1, 9, 1, 9, 9, 2, 2, 2]
    assert decoding.collapse(path, blank=9) == (0, 1, 1, 2)


def test_best_path_and_beam_search_disagree_where_the_labeling_sum_matters():
    assert decoding.best_path(DISAGREE, BLANK_LAST) == ()
    beams = decoding.prefix_beam_search(DISAGREE, BLANK_LAST, beam_width=100)
    top_labeling, top_log_p = beams[0]
    assert top_labeling == (0,)
    assert math.exp(top_log_p) == pytest.approx(0.5425)


def test_beam_search_of_width_one_keeps_only_the_empty_prefix_here():
    # After frame 1 the beam keeps () (.6) over (a) (.35), so "a" can no longer win.
    assert decoding.prefix_beam_search(DISAGREE, BLANK_LAST, beam_width=1)[0][0] == ()


def test_wide_beam_holds_every_labeling_with_its_exact_probability():
    beams = dict(decoding.prefix_beam_search(DISAGREE, BLANK_LAST, beam_width=100))
    expected = {(): 0.36, (0,): 0.5425, (1,): 0.0625, (0, 1): 0.0175, (1, 0): 0.0175}
    assert set(beams) == set(expected)
    for labeling, p in expected.items():
        assert math.exp(beams[labeling]) == pytest.approx(p)


def test_beam_search_finds_two_emotions_with_their_summed_paths():
    # a-b .512 + aab .064 + abb .064 + -ab .008 + ab- .008 = .656
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]])
    labeling, log_p = decoding.prefix_beam_search(probs, BLANK_LAST, beam_width=100)[0]
    assert labeling == (0, 1)
    assert math.exp(log_p) == pytest.approx(0.656)


def test_a_repeated_emotion_needs_a_blank_between():
    # "a a" is only reachable as a-a: .9 * .9 * .9 = .729
    probs = np.array([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9], [0.9, 0.05, 0.05]])
    assert decoding.prefix_beam_search(probs, BLANK_LAST, beam_width=10)[0][0] == (0, 0)
    assert math.exp(decoding.labeling_log_probability(probs, (0, 0), BLANK_LAST)) == pytest.approx(0.729)
    assert decoding.best_path(probs, BLANK_LAST) == (0, 0)


# Columns [blank, a, b]: blank FIRST, to show nothing assumes its position. Worked by hand:
#   p((a,)) = aaa .018 + aa- .108 + a-- .036 + -aa .030 + -a- .180 + --a .010 = .382
#   p((b,)) = bbb .012 + bb- .024 + b-- .024 + -bb .030 + -b- .060 + --b .030 = .180
THREE_FRAMES = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.6, 0.1, 0.3]])


def test_exact_single_label_probabilities_by_hand():
    log_p = decoding.single_label_log_probabilities(THREE_FRAMES, blank=0)
    np.testing.assert_allclose(np.exp(log_p), [0.382, 0.180])
    winner, normalised = decoding.most_probable_single_label(THREE_FRAMES, blank=0)
    assert winner == 0
    np.testing.assert_allclose(normalised, [0.382 / 0.562, 0.180 / 0.562])


def test_exact_single_label_on_the_disagreeing_matrix():
    np.testing.assert_allclose(np.exp(decoding.single_label_log_probabilities(DISAGREE, BLANK_LAST)), [0.5425, 0.0625])


def test_forward_algorithm_agrees_with_torch_ctc_loss():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(12, 4)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    log_probs = torch.log(torch.from_numpy(probs)).unsqueeze(1)  # (T, 1, C)

    def torch_log_p(labeling):
        return -float(
            F.ctc_loss(
                log_probs,
                torch.tensor([labeling]),
                torch.tensor([12]),
                torch.tensor([len(labeling)]),
                blank=3,
                reduction="sum",
            )
        )

    single = decoding.single_label_log_probabilities(probs, blank=3)
    for k in range(3):
        assert single[k] == pytest.approx(torch_log_p([k]), abs=1e-9)
    for labeling in ([0, 1], [2, 2], [1, 0, 2]):
        assert decoding.labeling_log_probability(probs, labeling, 3) == pytest.approx(torch_log_p(labeling), abs=1e-9)


def test_best_path_spans_mark_the_frames_of_each_emotion():
    # argmax path: a a - b b - a
    a, b, blank = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]
    probs = np.array([a, a, blank, b, b, blank, a])
    assert decoding.best_path_spans(probs, BLANK_LAST) == [(0, 0, 2), (1, 3, 5), (0, 6, 7)]


def test_viterbi_places_a_labeling_on_its_most_probable_frames():
    probs = np.array([[0.1, 0.1, 0.8], [0.7, 0.1, 0.2], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]])
    assert decoding.viterbi_spans(probs, (0,), BLANK_LAST) == [(0, 1, 3)]
    assert decoding.viterbi_spans(probs, (), BLANK_LAST) == []


def test_a_labeling_that_cannot_fit_is_reported():
    probs = np.array([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]])
    assert decoding.labeling_log_probability(probs, (0, 0), BLANK_LAST) == -math.inf
    with pytest.raises(ValueError, match="does not fit"):
        decoding.viterbi_spans(probs, (0, 0), BLANK_LAST)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        decoding.best_path(np.ones(5), 0)
    with pytest.raises(ValueError):
        decoding.prefix_beam_search(DISAGREE, blank=7)
    with pytest.raises(ValueError):
        decoding.prefix_beam_search(DISAGREE, BLANK_LAST, beam_width=0)
