"""The paper's BLSTM networks (Appendix A, figures 8 and 9) as PyTorch modules.

torch's bidirectional LSTM returns the backward direction's outputs already in forward time order,
so frame t's 2H features are [forward state after frames 0..t, backward state after frames T-1..t].
(The authors' Keras code concatenated the backward outputs without reversing them back: a bug we do
not reproduce.)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class BLSTMEncoder(nn.Module):
    """Stacked bidirectional LSTM.

    forward(x (B, T, F), lengths (B,) int64 on CPU) -> (frames (B, T, 2H), last (B, 2H)).
    ``packed=True`` runs each sequence over its true length only (padding never enters a state);
    ``packed=False`` runs over all T frames, padding included, as the authors' unmasked Keras
    network did. ``last`` is [forward state at the end, backward state at frame 0] of the top layer.
    """

    def __init__(self, n_features: int, hidden_units: int, n_layers: int, dropout: float, packed: bool):
        super().__init__()
        self.packed = packed
        self.lstm = nn.LSTM(
            n_features,
            hidden_units,
            num_layers=n_layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if n_layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.packed:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            packed_out, (h_n, _) = self.lstm(packed)
            frames, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=x.shape[1])
        else:
            frames, (h_n, _) = self.lstm(x)  # (B, T, 2H)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)  # (B, 2H): top layer's forward and backward
        return frames, last


def _dense_head(in_units: int, dense_units: int, n_outputs: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(in_units, dense_units),
        nn.Tanh(),
        nn.Dropout(dropout),
        nn.Linear(dense_units, n_outputs),
    )


class OneLabelNetwork(nn.Module):
    """Figure 8: BLSTM, last states, Dense(512, tanh), K logits. forward -> (B, K) logits."""

    def __init__(self, n_features, n_classes, hidden_units, n_layers, dense_units, dropout, packed):
        super().__init__()
        self.encoder = BLSTMEncoder(n_features, hidden_units, n_layers, dropout, packed)
        self.head = _dense_head(2 * hidden_units, dense_units, n_classes, dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _, last = self.encoder(x, lengths)
        return self.head(last)


class CTCNetwork(nn.Module):
    """Figure 9: BLSTM sequences, per-frame Dense(512, tanh) and K+1 outputs (blank last).
    forward -> (B, T, K+1) log-probabilities."""

    def __init__(self, n_features, n_classes, hidden_units, n_layers, dense_units, dropout, packed):
        super().__init__()
        self.encoder = BLSTMEncoder(n_features, hidden_units, n_layers, dropout, packed)
        self.head = _dense_head(2 * hidden_units, dense_units, n_classes + 1, dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        frames, _ = self.encoder(x, lengths)
        return torch.log_softmax(self.head(frames), dim=-1)


@torch.no_grad()
def keras_initialise(module: nn.Module) -> None:
    """Keras 1 defaults, as the authors' networks started: glorot-uniform input and dense weights
    (per LSTM gate), orthogonal recurrent weights (per gate), zero biases, forget-gate bias 1.
    (Keras 1 also used hard-sigmoid gates; torch's fused LSTM has only the logistic sigmoid.)"""
    for sub in module.modules():
        if isinstance(sub, nn.LSTM):
            hidden = sub.hidden_size
            for name, parameter in sub.named_parameters():
                gates = parameter.split(hidden, dim=0)  # torch's gate order: input, forget, cell, output
                if name.startswith("weight_ih"):
                    for gate in gates:
                        nn.init.xavier_uniform_(gate)
                elif name.startswith("weight_hh"):
                    for gate in gates:
                        nn.init.orthogonal_(gate)
                elif name.startswith("bias_ih"):
                    parameter.zero_()
                    gates[1].fill_(1.0)
                elif name.startswith("bias_hh"):
                    parameter.zero_()
        elif isinstance(sub, nn.Linear):
            nn.init.xavier_uniform_(sub.weight)
            nn.init.zeros_(sub.bias)
