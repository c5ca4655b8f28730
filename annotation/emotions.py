"""One vocabulary of emotion names for every corpus.

Corpora spell emotions differently (IEMOCAP's header codes ``exc``, its vote lines ``Excited``,
EmoDB's German initials, RAVDESS's numbers). Everything stored in the database uses the canonical
lower-case English names below, so class sets, votes and labels compare directly.
"""

CANONICAL_EMOTIONS = (
    "anger",
    "boredom",
    "calm",
    "disgust",
    "excitement",
    "fear",
    "frustration",
    "happiness",
    "neutral",
    "other",
    "sadness",
    "surprise",
)

# IEMOCAP block-header codes; ``xxx`` means the corpus found no majority.
IEMOCAP_CODES = {
    "ang": "anger",
    "dis": "disgust",
    "exc": "excitement",
    "fea": "fear",
    "fru": "frustration",
    "hap": "happiness",
    "neu": "neutral",
    "oth": "other",
    "sad": "sadness",
    "sur": "surprise",
}
IEMOCAP_NO_MAJORITY = "xxx"

# The paper's four classes for IEMOCAP (excited is NOT merged into happiness), alphabetical
# as in the authors' code (ang=0, exc=1, neu=2, sad=3).
PAPER_CLASSES = ("anger", "excitement", "neutral", "sadness")

_ALIASES = {
    "angry": "anger",
    "excited": "excitement",
    "happy": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "neutral state": "neutral",
    "fearful": "fear",
    "disgusted": "disgust",
    "surprised": "surprise",
    "bored": "boredom",
}


def canonical_emotion(name: str) -> str:
    """Map any spelling (``Excited``, ``exc``, ``Neutral state``, ``ANGER``) to the canonical name.

    Raises ValueError for a name that is not an emotion we know, so a typo in a manifest is
    reported instead of silently becoming a new class.
    """
    key = " ".join(name.strip().lower().split())
    if key in CANONICAL_EMOTIONS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    if key in IEMOCAP_CODES:
        return IEMOCAP_CODES[key]
    raise ValueError(f"unknown emotion {name!r}; known: {', '.join(CANONICAL_EMOTIONS)}")
