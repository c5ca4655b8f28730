"""The small hand-made dataset every analysis test uses (its records are tested in test_analysis_inputs.py).

Three classes, K = 3: anger (a), neutral (n), sadness (s). Twelve utterances:

    id   label     votes (one tuple per expert)          agreeing  dissenting  D(u) in-set dissent
    u1   anger     a | a | a                              3         0           {}
    u2   anger     a | a | n                              2         1           {n}
    u3   anger     a | a | frustration                    2         1           {}   (out of set)
    u4   neutral   n | n | n | n                          4         0           {}
    u5   neutral   n | n | s | a                          2         2           {s, a}
    u6   neutral   n | n | n                              3         0           {}
    u7   neutral   n | n | s+frustration                  2         1           {s}  (multi-category vote)
    u8   sadness   s | s | s                              3         0           {}
    u9   sadness   s | s | n                              2         1           {n}
    u10  sadness   s | s+n | happiness                    2         1           {}   (s+n agrees)
    u11  None      a | n | s                              (no consensus)
    u12  happiness happiness | happiness | a              (label outside the class set)

Speakers: A = u1 u2 u3 u7, B = u4 u5 u6 u8, C = u9 u10 u11 u12.
Sessions (= folds of the methods): S1 = u1..u6 (fold 0), S2 = u7..u12 (fold 1).

Predictions (only utterances labelled in the class set; x = wrong, - = empty decoding):

    id   label  dummy  onelabel  ctc
    u1   a      n x    a         a
    u2   a      n x    n x       n x
    u3   a      n x    a         - x
    u4   n      n      n         n
    u5   n      n      s x       a x
    u6   n      n      n         n
    u7   n      n      a x       n
    u8   s      n x    s         s
    u9   s      n x    n x       a x
    u10  s      n x    s         a x

Assessors h1, h2, h3 (answer index in brackets; main answers start at 2 after two warm-ups):

    h1: u1 a (2), u2 a (3), u3 n x (4), u4 n (5), u5 n (6), u6 n (7), u7 s x (8)
    h2: u1 a (2), u2 n x (3), u3 a (4), u4 n (5), u8 s (6), u9 s (7), u10 s (8)
    h3: u5 s x (2), u6 n (3), u7 n (4), u8 s (5), u9 n x (6), u10 a x (7)

Every labelled utterance has exactly two main answers. Warm-up answers (indices 0 and 1, all
wrong, on utterances the assessor does not answer later) and two hidden gold answers
(h1 u10 s right, h3 u3 s wrong) must not change any pooled number.
"""

from models_app.ser.analysis.inputs import HumanJudgment, Prediction, UtteranceRecord

CLASSES = ["anger", "neutral", "sadness"]
A, N, S = CLASSES
FRU, HAP = "frustration", "happiness"


def utterances() -> list[UtteranceRecord]:
    def votes(*raters):
        return tuple(tuple(rater) for rater in raters)

    return [
        UtteranceRecord("u1", A, "A", "S1", votes([A], [A], [A])),
        UtteranceRecord("u2", A, "A", "S1", votes([A], [A], [N])),
        UtteranceRecord("u3", A, "A", "S1", votes([A], [A], [FRU])),
        UtteranceRecord("u4", N, "B", "S1", votes([N], [N], [N], [N])),
        UtteranceRecord("u5", N, "B", "S1", votes([N], [N], [S], [A])),
        UtteranceRecord("u6", N, "B", "S1", votes([N], [N], [N])),
        UtteranceRecord("u7", N, "A", "S2", votes([N], [N], [S, FRU])),
        UtteranceRecord("u8", S, "B", "S2", votes([S], [S], [S])),
        UtteranceRecord("u9", S, "C", "S2", votes([S], [S], [N])),
        UtteranceRecord("u10", S, "C", "S2", votes([S], [S, N], [HAP])),
        UtteranceRecord("u11", None, "C", "S2", votes([A], [N], [S])),
        UtteranceRecord("u12", HAP, "C", "S2", votes([HAP], [HAP], [A])),
    ]


FOLD = {f"u{i}": 0 if i <= 6 else 1 for i in range(1, 11)}


def _row(answers: dict) -> list[Prediction]:
    return [Prediction(u, answer, FOLD[u]) for u, answer in answers.items()]


def predictions() -> dict[str, list[Prediction]]:
    return {
        "dummy": _row({f"u{i}": N for i in range(1, 11)}),
        "onelabel": _row({"u1": A, "u2": N, "u3": A, "u4": N, "u5": S, "u6": N, "u7": A, "u8": S, "u9": N, "u10": S}),
        "ctc": _row({"u1": A, "u2": N, "u3": None, "u4": N, "u5": A, "u6": N, "u7": N, "u8": S, "u9": A, "u10": A}),
    }


MAIN_ANSWERS = {
    "h1": [("u1", A), ("u2", A), ("u3", N), ("u4", N), ("u5", N), ("u6", N), ("u7", S)],
    "h2": [("u1", A), ("u2", N), ("u3", A), ("u4", N), ("u8", S), ("u9", S), ("u10", S)],
    "h3": [("u5", S), ("u6", N), ("u7", N), ("u8", S), ("u9", N), ("u10", A)],
}
WARMUP_ANSWERS = {"h1": [("u8", A), ("u9", A)], "h2": [("u5", A), ("u6", S)], "h3": [("u1", S), ("u2", S)]}
GOLD_ANSWERS = [HumanJudgment("h1", "u10", S, 9, is_gold=True), HumanJudgment("h3", "u3", S, 8, is_gold=True)]


def main_judgments() -> list[HumanJudgment]:
    return [
        HumanJudgment(assessor, u, answer, index, response_ms=1000 * (index + 1))
        for assessor, answers in MAIN_ANSWERS.items()
        for index, (u, answer) in enumerate(answers, start=2)
    ]


def warmup_judgments() -> list[HumanJudgment]:
    return [
        HumanJudgment(assessor, u, answer, index, is_warmup=True, response_ms=500)
        for assessor, answers in WARMUP_ANSWERS.items()
        for index, (u, answer) in enumerate(answers)
    ]


def judgments() -> list[HumanJudgment]:
    """Every answer of the campaign: warm-up, main and gold."""
    return warmup_judgments() + main_judgments() + list(GOLD_ANSWERS)


def human_versus_method_dataset():
    """Six utterances, one method, and human answers with a clear majority on each utterance:

    utterance label  human answers (majority)   method
    v1        a      h1 a, h2 a, h3 n  (a)        a
    v2        a      h1 n              (n)        a
    v3        n      h1 n, h2 n        (n)        n
    v4        n      h2 n              (n)        s
    v5        s      h1 s, h2 s, h3 a  (s)        s
    v6        s      h3 a              (a)        a
    """
    labels = ["anger", "anger", "neutral", "neutral", "sadness", "sadness"]
    records = [UtteranceRecord(f"v{i}", label, "spk", "ses") for i, label in enumerate(labels, start=1)]
    method = {"v1": "anger", "v2": "anger", "v3": "neutral", "v4": "sadness", "v5": "sadness", "v6": "anger"}
    answers = [
        ("h1", "v1", "anger", 1), ("h2", "v1", "anger", 1), ("h3", "v1", "neutral", 1),
        ("h1", "v2", "neutral", 2), ("h1", "v3", "neutral", 3), ("h2", "v3", "neutral", 2),
        ("h2", "v4", "neutral", 3), ("h1", "v5", "sadness", 4), ("h2", "v5", "sadness", 4),
        ("h3", "v5", "anger", 2), ("h3", "v6", "anger", 3),
    ]  # a table: three answers per row  # fmt: skip
    return (
        records,
        {"onelabel": [Prediction(u, p, 0) for u, p in method.items()]},
        [HumanJudgment(a, u, answer, index) for a, u, answer, index in answers],
    )
