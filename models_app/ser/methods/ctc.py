"""The paper's CTC BLSTM (sec. 3 and 4.3, figure 9).

The network emits, for every frame, probabilities over the K emotions and one blank; the blank
is the LAST output (index K), as in the authors' code. Training uses torch's CTC loss with each
utterance's true length, so padding is never learned from. Three readings of an utterance's label:

- ``"beam"``: prefix beam search (the paper's decoder; width ``beam_width``), first symbol;
- ``"best_path"``: the collapsed frame-wise argmax, first symbol;
- ``"exact"``: the emotion k whose one-symbol labeling (k,) is most probable, computed exactly.

An empty decoding (only blanks) predicts no emotion: -1 for integer classes, None otherwise, and
counts as an error (as the authors counted it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from models_app.ser import decoding
from models_app.ser.methods.networks import CTCNetwork
from models_app.ser.methods.neural import BLSTMEstimator

DECODERS = ("beam", "best_path", "exact")


@dataclass(frozen=True)
class CTCDecoding:
    """One utterance's decoded emotions: indices into ``classes_`` and their frame spans
    ``(emotion_index, start_frame, end_frame)`` (end exclusive, frames of the utterance)."""

    labeling: tuple[int, ...]
    spans: tuple[tuple[int, int, int], ...]


class CTCBLSTM(BLSTMEstimator):
    """BLSTM sequences -> per-frame Dense(tanh) -> per-frame softmax over K emotions + blank."""

    stage = "ctc"

    def __init__(
        self,
        *,
        hidden_units: int = 64,
        n_layers: int = 2,
        dense_units: int = 512,
        dropout: float = 0.0,
        keras_init: bool = True,
        pad_frames: int | None = 78,
        standardize: bool = False,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        adadelta_rho: float = 0.95,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        epochs: int = 80,
        batch_size: int = 64,
        gradient_clip: float | None = None,
        validation_fraction: float = 0.0,
        patience: int | None = None,
        class_weight: str | None = "inverse_frequency",
        n_networks: int = 1,
        n_threads: int = 1,
        device: str = "auto",
        random_state=None,
        discard_first_outputs: int = 2,
        min_frames: int = 6,
        beam_width: int = 100,
        decoder: str = "beam",
    ):
        super().__init__(
            hidden_units=hidden_units,
            n_layers=n_layers,
            dense_units=dense_units,
            dropout=dropout,
            keras_init=keras_init,
            pad_frames=pad_frames,
            standardize=standardize,
            optimizer=optimizer,
            learning_rate=learning_rate,
            adadelta_rho=adadelta_rho,
            epsilon=epsilon,
            weight_decay=weight_decay,
            epochs=epochs,
            batch_size=batch_size,
            gradient_clip=gradient_clip,
            validation_fraction=validation_fraction,
            patience=patience,
            class_weight=class_weight,
            n_networks=n_networks,
            n_threads=n_threads,
            device=device,
            random_state=random_state,
        )
        self.discard_first_outputs = discard_first_outputs
        self.min_frames = min_frames
        self.beam_width = beam_width
        self.decoder = decoder

    @property
    def blank_(self) -> int:
        """The blank's output column: the last one (K), as in the authors' code."""
        return len(self.classes_)

    def _check_params(self) -> None:
        super()._check_params()
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {self.decoder!r}")
        if self.discard_first_outputs < 0 or self.beam_width < 1:
            raise ValueError("discard_first_outputs must be >= 0 and beam_width >= 1")
        if self.pad_frames is not None and self.pad_frames <= self.discard_first_outputs:
            raise ValueError("pad_frames must exceed discard_first_outputs")

    def _build_network(self, n_features: int, n_classes: int):
        return CTCNetwork(
            n_features,
            n_classes,
            self.hidden_units,
            self.n_layers,
            self.dense_units,
            self.dropout,
            packed=self.pad_frames is None,
        )

    def _usable_for_training(self, sequences):
        # The authors removed utterances of 5 frames or fewer; at least one output must remain
        # after the discarded first ones.
        needed = max(self.min_frames, self.discard_first_outputs + 1)
        return np.array([len(s) >= needed for s in sequences])

    def _utterance_losses(self, network, x, lengths, y):
        log_probs = network(x, lengths)  # (B, T, K+1)
        kept = self.discard_first_outputs
        log_probs = log_probs[:, kept:, :].transpose(0, 1)  # (T - kept, B, K+1): CTC's time-major layout
        return F.ctc_loss(
            log_probs,
            y.unsqueeze(1),  # (B, 1): every target is one emotion
            lengths - kept,
            torch.ones_like(y),
            blank=log_probs.shape[-1] - 1,
            reduction="none",
            zero_infinity=True,
        )

    def _inference_length(self, n_frames: int) -> int | None:
        # Never cut at inference, so every frame of a long utterance gets probabilities; short
        # ones see the same padding as in training.
        return None if self.pad_frames is None else max(self.pad_frames, n_frames)

    # -- inference -------------------------------------------------------------------------------
    def predict_frame_proba(self, X) -> list[np.ndarray]:
        """Per-frame probabilities: one (n_frames, K+1) array per utterance; columns follow
        ``classes_`` and the last column is the blank. The first ``discard_first_outputs`` rows
        were never trained (the authors discarded them) and are skipped by the decoders."""
        sequences = self._prepare(X)
        result: list[np.ndarray | None] = [None] * len(sequences)
        with self._inference_session(), torch.inference_mode():
            for positions, x, lengths in self._inference_batches(sequences):
                # an ensemble averages its networks' per-frame probabilities
                probabilities = np.mean(
                    [network(x, lengths).exp().double().cpu().numpy() for network in self.networks_], axis=0
                )  # (B, T, K+1)
                for row, position in enumerate(positions):
                    result[position] = probabilities[row, : len(sequences[position])]
        return result

    def _decoding_window(self, n_frames: int) -> int:
        """First frame the decoders read: after the discarded outputs, unless nothing would remain."""
        return self.discard_first_outputs if n_frames > self.discard_first_outputs else 0

    def decode_frame_proba(self, frame_proba: list[np.ndarray], decoder: str | None = None) -> list[CTCDecoding]:
        """Decode per-frame probabilities (as from :meth:`predict_frame_proba`) with ``decoder``
        (default: this estimator's). Beam-search and exact labelings are placed in time by their
        most probable alignment."""
        decoder = decoder or self.decoder
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        blank = self.blank_
        decodings = []
        for probabilities in frame_proba:
            first = self._decoding_window(len(probabilities))
            window = probabilities[first:]
            if decoder == "best_path":
                spans = decoding.best_path_spans(window, blank)
                labeling = tuple(symbol for symbol, _, _ in spans)
            else:
                if decoder == "beam":
                    labeling = decoding.prefix_beam_search(window, blank, self.beam_width)[0][0]
                else:
                    labeling = (decoding.most_probable_single_label(window, blank)[0],)
                spans = decoding.viterbi_spans(window, labeling, blank)
            decodings.append(
                CTCDecoding(
                    labeling=tuple(labeling),
                    spans=tuple((symbol, start + first, end + first) for symbol, start, end in spans),
                )
            )
        return decodings

    def decode_sequences(self, X, decoder: str | None = None) -> list[list[tuple[int, int, int]]]:
        """For every utterance, its decoded emotions as ``(emotion_index, start_frame, end_frame)``.

        The estimator's one-call decoding for its users outside the experiment; the experiment
        itself keeps the frame probabilities and decodes them three ways (decode_frame_proba)."""
        return [list(d.spans) for d in self.decode_frame_proba(self.predict_frame_proba(X), decoder)]

    def labels_from_decodings(self, decodings: list[CTCDecoding]) -> np.ndarray:
        """The paper's prediction: the first decoded emotion; an empty decoding gives -1 (integer
        classes) or None (other classes)."""
        integer_classes = np.issubdtype(self.classes_.dtype, np.integer)
        empty = -1 if integer_classes else None
        labels = [self.classes_[d.labeling[0]] if d.labeling else empty for d in decodings]
        return np.array(labels, dtype=self.classes_.dtype if integer_classes else object)

    def predict(self, X) -> np.ndarray:
        return self.labels_from_decodings(self.decode_frame_proba(self.predict_frame_proba(X)))

    def proba_from_frame_proba(self, frame_proba: list[np.ndarray]) -> np.ndarray:
        """(n, K): the exact one-emotion labeling probabilities, normalised over the K emotions."""
        return np.array(
            [
                decoding.most_probable_single_label(p[self._decoding_window(len(p)) :], self.blank_)[1]
                for p in frame_proba
            ]
        )

    def predict_proba(self, X) -> np.ndarray:
        return self.proba_from_frame_proba(self.predict_frame_proba(X))
