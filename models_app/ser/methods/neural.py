"""The training loop shared by the one-label and CTC BLSTMs, behind scikit-learn's contract.

One loop, read top to bottom in :meth:`BLSTMEstimator.fit`: check inputs, choose the utterances to
learn from, fit the scaler on them, hold out whole training groups for validation if asked, then
epochs of shuffled mini-batches with (optionally class-weighted) per-utterance losses, keeping the
weights of the epoch with the lowest validation loss.
"""

from __future__ import annotations

import copy
import math
import time
from collections import defaultdict

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from models_app.ser.methods.inputs import FrameScaler, check_sequences, encode_labels, inverse_frequency_weights
from models_app.ser.methods.networks import keras_initialise
from models_app.ser.progress import ProgressCallback, ProgressEvent, ignore_progress
from models_app.ser.torch_utils import pad_sequences, resolve_device, resolve_seed, torch_session

OPTIMIZERS = ("adam", "adadelta")
CLASS_WEIGHTS = (None, "inverse_frequency")
PREDICT_BATCH = 256  # utterances per forward pass at inference: memory, not results, depends on it


def validation_split(y: np.ndarray, groups, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train positions, validation positions). Whole groups (speakers, sessions) are held out when
    there are at least two, so validation is speaker-independent like the test fold; otherwise a
    stratified random share of utterances."""
    n = len(y)
    if groups is not None and len(np.unique(groups)) >= 2:
        groups = np.asarray(groups)
        unique_groups = np.unique(groups)
        held_out: list = []
        n_held = 0
        for group in rng.permutation(unique_groups):
            if n_held >= fraction * n or len(held_out) == len(unique_groups) - 1:
                break
            held_out.append(group)
            n_held += int(np.sum(groups == group))
        is_validation = np.isin(groups, held_out)
    else:
        is_validation = np.zeros(n, dtype=bool)
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            is_validation[members[: int(round(fraction * len(members)))]] = True
    return np.flatnonzero(~is_validation), np.flatnonzero(is_validation)


class BLSTMEstimator(ClassifierMixin, BaseEstimator):
    """Base of :class:`OneLabelBLSTM` and :class:`CTCBLSTM`. Subclasses provide the network, the
    per-utterance loss, and which training utterances are usable."""

    stage = "blstm"  # the ProgressEvent stage name

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
        class_weight: str | None = None,
        n_networks: int = 1,
        n_threads: int = 1,
        device: str = "auto",
        random_state=None,
    ):
        self.hidden_units = hidden_units
        self.n_layers = n_layers
        self.dense_units = dense_units
        self.dropout = dropout
        self.keras_init = keras_init
        self.pad_frames = pad_frames
        self.standardize = standardize
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.adadelta_rho = adadelta_rho
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.n_networks = n_networks
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state

    # -- what subclasses define ------------------------------------------------------------------
    def _build_network(self, n_features: int, n_classes: int) -> torch.nn.Module:
        raise NotImplementedError

    def _utterance_losses(self, network, x: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(B,) loss of each utterance of a batch."""
        raise NotImplementedError

    def _usable_for_training(self, sequences: list[np.ndarray]) -> np.ndarray:
        """(n,) bool: utterances the method can learn from."""
        return np.ones(len(sequences), dtype=bool)

    # -- checks ----------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"class_weight must be one of {CLASS_WEIGHTS}, got {self.class_weight!r}")
        if self.pad_frames is not None and self.pad_frames < 1:
            raise ValueError("pad_frames must be a positive number of frames or None")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError("validation_fraction must lie in [0, 1)")
        if self.patience is not None and self.validation_fraction == 0.0:
            raise ValueError("early stopping (patience) needs a validation_fraction above 0")
        if self.epochs < 1 or self.batch_size < 1 or self.n_networks < 1:
            raise ValueError("epochs, batch_size and n_networks must be at least 1")

    # -- training --------------------------------------------------------------------------------
    def fit(self, X, y, groups=None, progress: ProgressCallback | None = None):
        """X: list of (n_frames, F) arrays; y: (n,) labels; groups: (n,) speaker or session of each
        utterance, used only to hold out whole groups for validation. Returns self."""
        self._check_params()
        progress = progress or ignore_progress
        sequences = check_sequences(X)
        self.classes_, y_indices = encode_labels(y, len(sequences))
        self.n_features_in_ = sequences[0].shape[1]
        n_classes = len(self.classes_)

        usable = self._usable_for_training(sequences)
        if not usable.any():
            raise ValueError(f"no training utterance is usable by {type(self).__name__}")
        self.n_training_utterances_ = int(usable.sum())
        sequences = [s for s, keep in zip(sequences, usable, strict=True) if keep]
        y_indices = y_indices[usable]
        groups = None if groups is None else np.asarray(groups)[usable]

        self.scaler_ = FrameScaler.fit(sequences) if self.standardize else None
        if self.scaler_ is not None:
            sequences = self.scaler_.transform(sequences)

        seed = resolve_seed(self.random_state)
        rng = np.random.default_rng(seed)
        if self.validation_fraction > 0:
            train_positions, validation_positions = validation_split(y_indices, groups, self.validation_fraction, rng)
        else:
            train_positions, validation_positions = np.arange(len(sequences)), np.array([], dtype=np.int64)

        class_weights = (
            inverse_frequency_weights(y_indices[train_positions], n_classes)
            if self.class_weight == "inverse_frequency"
            else np.ones(n_classes)
        )
        self.history_ = []
        self.best_epochs_ = []
        self.networks_ = []
        for index in range(self.n_networks):
            # Network 0 continues the generator that drew the validation split; the others start
            # from seed + index, so one network of an ensemble equals a single network of that seed.
            network_rng = rng if index == 0 else np.random.default_rng(seed + index)
            self.networks_.append(
                self._train_network(
                    index,
                    seed + index,
                    network_rng,
                    sequences,
                    y_indices,
                    train_positions,
                    validation_positions,
                    class_weights,
                    progress,
                )
            )
        return self

    def _train_network(
        self, index, seed, rng, sequences, y_indices, train_positions, validation_positions, class_weights, progress
    ):
        """Train one network; keep the weights of its best validation epoch when there is a
        validation set. Appends to ``history_`` and ``best_epochs_``."""
        n_classes = len(self.classes_)
        best_epoch = self.epochs
        total_epochs = self.epochs * self.n_networks
        device = resolve_device(self.device)
        with torch_session(seed, self.n_threads, device):
            network = self._build_network(self.n_features_in_, n_classes)
            if self.keras_init:
                keras_initialise(network)  # on the CPU, so a seed starts the same network on every device
            network.to(device)
            optimizer = self._make_optimizer(network)
            weights = torch.from_numpy(np.asarray(class_weights, dtype=np.float32)).to(device)  # once per network
            best_loss, best_state, epochs_without_gain = math.inf, None, 0
            for epoch in range(1, self.epochs + 1):
                epoch_started = time.perf_counter()
                network.train()
                order = train_positions[rng.permutation(len(train_positions))]
                # The epoch's loss is summed on the device in float64 (the same sums Python floats
                # gave on the CPU) and read once per epoch: no device-to-host copy per batch.
                total, count = torch.zeros((), dtype=torch.float64, device=device), 0
                for start in range(0, len(order), self.batch_size):
                    batch = order[start : start + self.batch_size]
                    loss = self._weighted_loss(network, sequences, y_indices, batch, weights, device)
                    optimizer.zero_grad()
                    loss.backward()
                    if self.gradient_clip is not None:
                        torch.nn.utils.clip_grad_norm_(network.parameters(), self.gradient_clip)
                    optimizer.step()
                    total += loss.detach().double() * len(batch)
                    count += len(batch)
                record = {
                    "network": index,
                    "epoch": epoch,
                    "loss": float(total) / count,
                    "seconds": time.perf_counter() - epoch_started,  # training only, not validation
                }
                if len(validation_positions):
                    record["val_loss"] = self._evaluate_loss(
                        network, sequences, y_indices, validation_positions, weights, device
                    )
                    if record["val_loss"] < best_loss - 1e-6:
                        best_loss, best_state = record["val_loss"], copy.deepcopy(network.state_dict())
                        best_epoch, epochs_without_gain = epoch, 0
                    else:
                        epochs_without_gain += 1
                self.history_.append(record)
                done = index * self.epochs + epoch
                progress(ProgressEvent(stage=self.stage, done=done, total=total_epochs, detail=dict(record)))
                if self.patience is not None and epochs_without_gain >= self.patience:
                    break
            if best_state is not None:
                network.load_state_dict(best_state)
        network.eval()
        self.best_epochs_.append(best_epoch)
        return network

    def _make_optimizer(self, network):
        if self.optimizer == "adam":
            return torch.optim.Adam(
                network.parameters(), lr=self.learning_rate, eps=self.epsilon, weight_decay=self.weight_decay
            )
        return torch.optim.Adadelta(
            network.parameters(),
            lr=self.learning_rate,
            rho=self.adadelta_rho,
            eps=self.epsilon,
            weight_decay=self.weight_decay,
        )

    def _batch_tensors(self, sequences: list[np.ndarray], positions: np.ndarray):
        """Training batch: x (B, T, F) and true lengths (B,). Padded mode cuts or pads to
        ``pad_frames`` (the network sees the padding); packed mode pads to the batch's longest
        utterance, and the padding never enters a state."""
        chosen = [sequences[p] for p in positions]
        return pad_sequences(chosen, self.pad_frames or max(len(s) for s in chosen))

    def _inference_length(self, n_frames: int) -> int | None:
        """The length an utterance of ``n_frames`` is cut or padded to at inference (None: its own,
        packed). Utterances are batched only with others of the same inference length, so the
        padding an utterance sees never depends on what else is in the batch."""
        return self.pad_frames

    def _weighted_loss(self, network, sequences, y_indices, positions, class_weights, device) -> torch.Tensor:
        """class_weights: (K,) float32 tensor on ``device``. The batch goes to the device in one
        copy each for x and y; lengths stay on the CPU, where packing reads them."""
        x, lengths = self._batch_tensors(sequences, positions)
        y = torch.from_numpy(y_indices[positions]).to(device, non_blocking=True)
        losses = self._utterance_losses(network, x.to(device, non_blocking=True), lengths, y)  # (B,)
        weights = class_weights[y].to(losses.dtype)
        # Keras's weighted mean (the authors' code): mean of weight * loss over the batch.
        return (losses * weights).mean()

    @torch.no_grad()
    def _evaluate_loss(self, network, sequences, y_indices, positions, class_weights, device) -> float:
        network.eval()
        total = torch.zeros((), dtype=torch.float64, device=device)
        for start in range(0, len(positions), PREDICT_BATCH):
            batch = positions[start : start + PREDICT_BATCH]
            loss = self._weighted_loss(network, sequences, y_indices, batch, class_weights, device)
            total += loss.double() * len(batch)
        network.train()
        return float(total) / len(positions)

    # -- inference -------------------------------------------------------------------------------
    def _prepare(self, X) -> list[np.ndarray]:
        if not hasattr(self, "networks_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit first")
        sequences = check_sequences(X, n_features=self.n_features_in_)
        return self.scaler_.transform(sequences) if self.scaler_ is not None else sequences

    def _inference_device(self) -> torch.device:
        """The configured device, with every network moved there (a no-op once they are)."""
        device = resolve_device(getattr(self, "device", "auto"))
        for network in self.networks_:
            network.to(device)
        return device

    def _inference_batches(self, sequences: list[np.ndarray]):
        """Yield (positions, x (B, T, F) on the inference device, lengths (B,) on the CPU)
        covering every utterance once."""
        device = self._inference_device()
        by_length: dict = defaultdict(list)
        for position, sequence in enumerate(sequences):
            by_length[self._inference_length(len(sequence))].append(position)
        for length, positions in by_length.items():
            for start in range(0, len(positions), PREDICT_BATCH):
                batch = np.asarray(positions[start : start + PREDICT_BATCH])
                chosen = [sequences[p] for p in batch]
                x, lengths = pad_sequences(chosen, length or max(len(s) for s in chosen))
                yield batch, x.to(device), lengths

    def _inference_session(self):
        return torch_session(0, self.n_threads)

    def predict(self, X) -> np.ndarray:
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    # -- persistence (see models_app.ser.persistence) --------------------------------------------
    def _learned_state(self) -> dict:
        return {
            "classes": self.classes_.tolist(),
            "n_features_in": int(self.n_features_in_),
            "n_training_utterances": int(self.n_training_utterances_),
            "best_epochs": [int(e) for e in self.best_epochs_],
            "history": list(self.history_),
            "scaler_mean": None if self.scaler_ is None else torch.from_numpy(self.scaler_.mean),
            "scaler_scale": None if self.scaler_ is None else torch.from_numpy(self.scaler_.scale),
            # On the CPU, so a checkpoint written on a GPU worker loads anywhere.
            "networks": [{k: v.cpu() for k, v in network.state_dict().items()} for network in self.networks_],
        }

    def _restore_learned_state(self, state: dict) -> None:
        self.classes_ = np.asarray(state["classes"])
        self.n_features_in_ = state["n_features_in"]
        self.n_training_utterances_ = state["n_training_utterances"]
        self.best_epochs_ = state["best_epochs"]
        self.history_ = state["history"]
        self.scaler_ = (
            None
            if state["scaler_mean"] is None
            else FrameScaler(state["scaler_mean"].numpy(), state["scaler_scale"].numpy())
        )
        self.networks_ = []
        for weights in state["networks"]:
            network = self._build_network(self.n_features_in_, len(self.classes_))
            network.load_state_dict(weights)
            network.eval()
            self.networks_.append(network)
