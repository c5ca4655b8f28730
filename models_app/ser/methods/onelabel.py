"""The paper's one-label BLSTM (sec. 4.2.2, figure 8): one emotion per utterance, cross-entropy."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models_app.ser.methods.networks import OneLabelNetwork
from models_app.ser.methods.neural import BLSTMEstimator


class OneLabelBLSTM(BLSTMEstimator):
    """Stacked BLSTM -> last states -> Dense(tanh) -> softmax over the K classes.

    With ``pad_frames=78`` (the paper) every utterance is cut or zero-padded to 78 frames and the
    network sees the padding; with ``pad_frames=None`` it reads each utterance's true length.
    """

    stage = "onelabel"

    def _build_network(self, n_features: int, n_classes: int):
        return OneLabelNetwork(
            n_features,
            n_classes,
            self.hidden_units,
            self.n_layers,
            self.dense_units,
            self.dropout,
            packed=self.pad_frames is None,
        )

    def _utterance_losses(self, network, x, lengths, y):
        return F.cross_entropy(network(x, lengths), y, reduction="none")

    def predict_proba(self, X) -> np.ndarray:
        """(n, K) class probabilities, columns in the order of ``classes_``."""
        sequences = self._prepare(X)
        probabilities = np.empty((len(sequences), len(self.classes_)), dtype=np.float64)
        with self._inference_session(), torch.inference_mode():
            for positions, x, lengths in self._inference_batches(sequences):
                # an ensemble averages its networks' class probabilities
                per_network = [
                    torch.softmax(network(x, lengths), dim=1).double().cpu().numpy() for network in self.networks_
                ]
                probabilities[positions] = np.mean(per_network, axis=0)
        return probabilities
