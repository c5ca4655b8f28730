"""Probabilities over the classes a model saw, spread into a column for every class.

A model fitted on a training fold knows only the classes present in it (its ``classes_``), and a
forest fitted on class indices knows only the indices it saw; reports and stored predictions need a
column for every class of the dataset, in the dataset's order, with 0 for a class the model never
saw.
"""

from __future__ import annotations

import numpy as np


def spread_columns(values, columns, n_columns: int) -> np.ndarray:
    """(n, n_columns) zeros with ``values[:, j]`` in column ``columns[j]``."""
    values = np.asarray(values)
    full = np.zeros((len(values), n_columns))
    full[:, np.asarray(columns, dtype=np.int64)] = values
    return full
