"""A tiny IEMOCAP_full_release written by the tests themselves, its text files reproduced to the
character (TAB-separated block headers and vote lines, ``dom  2`` with two spaces, LF endings,
a trailing blank line).

Session1 holds the hard cases; Sessions 2-5 hold one scripted dialog each (a dialog name with
three ``_`` fields), so the release has 10 speakers in 5 sessions.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.factories import tone, write_wav

EVALUATION_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
ATTRIBUTE_LINES = [
    "A-E3:\tval 3; act 2; dom  2;\t()",
    "A-E4:\tval 2; act 3; dom  3;\t(mildly aggravated but staying polite, attitude)",
]

SESSION1_DIALOG = "Ses01F_impro01"
SESSION1_BLOCKS = [
    [
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
        "C-E2:\tNeutral;\t()",
        "C-E3:\tNeutral;\t()",
        "C-E4:\tNeutral;\t()",
        "C-F1:\tNeutral;\t(curious)",
        *ATTRIBUTE_LINES,
        "A-F1:\tval 3; act 2; dom  1;\t()",
    ],
    [
        "[7.5712 - 10.4750]\tSes01F_impro01_M000\txxx\t[2.0000, 2.5000, 2.5000]",
        "C-E2:\tSadness;\t()",
        "C-E3:\tSadness;\t()",
        "C-E4:\tNeutral;\t()",
        *ATTRIBUTE_LINES,
    ],
    [
        "[10.0100 - 11.3925]\tSes01F_impro01_F001\tneu\t[2.5000, 2.5000, 2.5000]",
        "C-E2:\tNeutral;\t()",
        "C-E3:\tNeutral;\t()",
        "C-E4:\tNeutral;\t()",
        "C-F1:\tNeutral; Anger;\t()",
        *ATTRIBUTE_LINES,
        "A-F1:\tval 2; act 3; dom  2;\t()",
    ],
    [
        "[14.8872 - 18.0175]\tSes01F_impro01_F002\tang\t[2.0000, 3.5000, 3.5000]",
        "C-E1:\tAnger; Frustration;\t()",
        "C-E2:\tFrustration;\t()",
        "C-E3:\tAnger;\t()",
        *ATTRIBUTE_LINES,
    ],
    [
        "[19.2900 - 20.7875]\tSes01F_impro01_F003\txxx\t[2.5000, 3.0000, 3.0000]",
        "C-E2:\tFrustration;\t()",
        "C-E3:\tAnger;\t()",
        "C-E4:\tNeutral;\t()",
        "C-F1:\tFrustration;\t()",
        *ATTRIBUTE_LINES,
    ],
    [
        # Malformed: spaces where the format has TABs.
        "[21.3257 - 24.7400] Ses01F_impro01_F004 neu [2.5000, 2.5000, 2.5000]",
        "C-E2:\tNeutral;\t()",
        "C-E3:\tNeutral;\t()",
    ],
    [
        # Well-formed, but its wav is missing from sentences/wav.
        "[25.0000 - 27.5000]\tSes01F_impro01_F005\tsad\t[1.5000, 2.0000, 2.0000]",
        "C-E1:\tSadness;\t()",
        "C-E2:\tSadness;\t()",
        "C-E3:\tSadness;\t()",
    ],
    [
        "[28.1000 - 30.0000]\tSes01F_impro01_F006\tneu\t[2.5000, 2.5000, 2.5000]",
        "C-E1:\tNeutral;\t()",
        "C-E3:\tBored stiff;\t()",  # malformed: not an emotion name
        "C-E4:\tNeutral;\t()",
    ],
    [
        "[31.0000 - 33.5000]\tSes01F_impro01_M001\texc\t[4.0000, 4.0000, 3.0000]",
        "C-E1:\tExcited;\t()",
        "C-E2:\tHappiness;\t()",
        "C-E3:\tExcited;\t()",
        "C-M1:\tExcited;\t(happy for her)",
        *ATTRIBUTE_LINES,
    ],
    [
        "[34.0000 - 35.0000]\tSes01F_impro01_M002\tfru\t[2.0000, 3.5000, 3.0000]",
        "C-E1:\tFrustration;\t()",
        "C-E2:\tFrustration;\t()",
        "C-E3:\tFrustration;\t()",
    ],
    [
        "[36.0000 - 38.0000]\tSes01F_impro01_M003\tsad\t[1.5000, 2.0000, 2.0000]",
        "C-E1:\tSadness;\t()",
        "C-E2:\tSadness;\t()",
        "C-E3:\tSadness;\t()",
    ],
]
SESSION1_TRANSCRIPT = [
    "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.",
    "Ses01F_impro01_M000 [007.5712-010.4750]: Do you have your forms?",
    "Ses01F_impro01_F001 [010.0100-011.3925]: Yeah.",
    "Ses01F_impro01_F002 [014.8872-018.0175]: Is there a problem?",
    "Ses01F_impro01_MXX0 [018.2000-018.9000]: Hmm.",
    "M: [BREATHING]",
    "Ses01F_impro01_M001 [031.0000-033.5000]: That is wonderful news!",
    "Ses01F_impro01_M002 [034.0000-035.0000]: Not again.",
    "Ses01F_impro01_M003 [036.0000-038.0000]: I miss him.",
]
# Wavs written for Session1 (F005 has none on purpose; M002 is corrupt; M003 is stereo 44.1 kHz).
SESSION1_MONO_WAVS = ["F000", "M000", "F001", "F002", "F003", "F006", "M001"]


@dataclass
class IemocapFixture:
    root: Path
    session1_evaluation: Path  # Session1/dialog/EmoEvaluation/Ses01F_impro01.txt

    def line_of(self, text: str) -> int:
        """1-based line number of ``text`` in Session1's EmoEvaluation file."""
        return self.session1_evaluation.read_text().split("\n").index(text) + 1

    def wav(self, utterance: str) -> Path:
        session = f"Session{utterance[4]}"
        return self.root / session / "sentences" / "wav" / utterance.rsplit("_", 1)[0] / f"{utterance}.wav"


def evaluation_text(blocks: list[list[str]]) -> str:
    """Header line, blank line, blocks separated by blank lines, a trailing blank line."""
    return EVALUATION_HEADER + "\n\n" + "".join("\n".join(block) + "\n\n" for block in blocks)


def _write_dialog(root: Path, session: int, dialog: str, blocks: list[list[str]], transcript: list[str]) -> Path:
    dialog_folder = root / f"Session{session}" / "dialog"
    evaluation = dialog_folder / "EmoEvaluation" / f"{dialog}.txt"
    evaluation.parent.mkdir(parents=True, exist_ok=True)
    evaluation.write_bytes(evaluation_text(blocks).encode())
    transcription = dialog_folder / "transcriptions" / f"{dialog}.txt"
    transcription.parent.mkdir(parents=True, exist_ok=True)
    transcription.write_bytes(("\n".join(transcript) + "\n").encode())
    return evaluation


def write_iemocap_release(root: Path) -> IemocapFixture:
    root.mkdir(parents=True, exist_ok=True)
    evaluation = _write_dialog(root, 1, SESSION1_DIALOG, SESSION1_BLOCKS, SESSION1_TRANSCRIPT)
    fixture = IemocapFixture(root=root, session1_evaluation=evaluation)
    for index, suffix in enumerate(SESSION1_MONO_WAVS):
        write_wav(fixture.wav(f"{SESSION1_DIALOG}_{suffix}"), tone(0.25, frequency=200 + 20 * index, seed=index))
    fixture.wav(f"{SESSION1_DIALOG}_M002").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt this is not audio")
    stereo = np.stack([tone(0.25, 220, sample_rate=44100), tone(0.25, 330, sample_rate=44100, seed=1)], axis=1)
    write_wav(fixture.wav(f"{SESSION1_DIALOG}_M003"), stereo, sample_rate=44100)

    # What a Mac leaves behind, and files the importer must not read as votes.
    evaluation_folder = evaluation.parent
    (evaluation_folder / f"._{SESSION1_DIALOG}.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    fixture.wav(f"{SESSION1_DIALOG}_F000").with_name(f"._{SESSION1_DIALOG}_F000.wav").write_bytes(b"\x00\x05\x16\x07")
    categorical = evaluation_folder / "Categorical" / f"{SESSION1_DIALOG}_e2_cat.txt"
    categorical.parent.mkdir()
    categorical.write_text(f"{SESSION1_DIALOG}_F000 :Neutral state;\n")

    for session in range(2, 6):
        dialog = f"Ses0{session}M_script01_1"
        blocks = [
            [
                f"[1.0000 - 2.5000]\t{dialog}_F000\tang\t[2.0000, 4.0000, 4.0000]",
                "C-E1:\tAnger;\t()",
                "C-E2:\tAnger;\t()",
                "C-E3:\tAnger;\t()",
            ],
            [
                f"[3.0000 - 4.5000]\t{dialog}_M000\tsad\t[1.5000, 2.0000, 2.0000]",
                "C-E1:\tSadness;\t()",
                "C-E2:\tSadness;\t()",
                "C-E3:\tSadness;\t()",
            ],
        ]
        transcript = [
            f"{dialog}_F000 [001.0000-002.5000]: Get out.",
            f"{dialog}_M000 [003.0000-004.5000]: It is over.",
        ]
        _write_dialog(root, session, dialog, blocks, transcript)
        for k, utterance in enumerate((f"{dialog}_F000", f"{dialog}_M000")):
            write_wav(fixture.wav(utterance), tone(0.25, frequency=180 + 40 * k, seed=10 * session + k))
    return fixture
