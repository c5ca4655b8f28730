"""The methods compared in Table 1, as scikit-learn estimators over variable-length sequences.

X is a list of (n_frames, 34) float32 arrays, y one label per utterance. Every estimator has
``fit(X, y, groups=None, progress=None)`` returning self, ``predict``, ``predict_proba`` (columns
follow ``classes_``) and ``random_state``; framewise and CTC also ``predict_frame_proba``.
"""

from models_app.ser.methods.ctc import CTCBLSTM, CTCDecoding
from models_app.ser.methods.dummy import DummyMajority
from models_app.ser.methods.forests import FramewiseForest, UtteranceStatsForest
from models_app.ser.methods.onelabel import OneLabelBLSTM

__all__ = ["CTCBLSTM", "CTCDecoding", "DummyMajority", "FramewiseForest", "OneLabelBLSTM", "UtteranceStatsForest"]
