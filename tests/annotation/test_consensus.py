"""The paper's rule: a label iff at least half of the expert raters chose it."""

from annotation.consensus import consensus_from_votes, dissent_for_label


def test_unanimous_three_raters():
    c = consensus_from_votes([["anger"], ["anger"], ["anger"]])
    assert (c.label, c.n_raters, c.n_agreeing, c.n_dissenting) == ("anger", 3, 3, 0)


def test_two_of_three_is_a_label_with_one_dissenter():
    c = consensus_from_votes([["anger"], ["sadness"], ["anger"]])
    assert (c.label, c.n_dissenting) == ("anger", 1)


def test_exactly_half_of_four_is_enough():
    c = consensus_from_votes([["neutral"], ["neutral"], ["anger"], ["sadness"]])
    assert (c.label, c.n_agreeing, c.n_dissenting) == ("neutral", 2, 2)


def test_one_of_three_is_no_label():
    c = consensus_from_votes([["neutral"], ["anger"], ["sadness"]])
    assert c.label is None and c.n_dissenting is None and c.n_raters == 3


def test_two_against_two_is_a_tie_and_no_label():
    assert consensus_from_votes([["anger"], ["anger"], ["sadness"], ["sadness"]]).label is None


def test_a_multi_category_vote_counts_for_each_category():
    # Rater 3 ticked both: neutral reaches 2 of 3, anger 1 of 3.
    c = consensus_from_votes([["neutral"], ["sadness"], ["neutral", "anger"]])
    assert (c.label, c.n_agreeing, c.n_dissenting) == ("neutral", 2, 1)


def test_no_votes_no_label():
    c = consensus_from_votes([])
    assert c.label is None and c.n_raters == 0


def test_dissent_for_a_label_fixed_by_the_corpus():
    c = dissent_for_label([["excitement"], ["happiness"], ["excitement", "happiness"]], "excitement")
    assert (c.n_agreeing, c.n_dissenting) == (2, 1)
