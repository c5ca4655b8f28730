import numpy as np

from models_app.ser.columns import spread_columns


def test_columns_the_model_never_saw_get_zero():
    # A fold without class 1: the model's two columns go to classes 0 and 2.
    full = spread_columns([[0.25, 0.75], [1.0, 0.0]], [0, 2], 3)
    np.testing.assert_array_equal(full, [[0.25, 0.0, 0.75], [1.0, 0.0, 0.0]])


def test_ctc_frames_keep_the_blank_last():
    frames = np.array([[0.1, 0.2, 0.7]])  # classes 0 and 2 of 3, then the blank
    np.testing.assert_array_equal(spread_columns(frames, [0, 2, 3], 4), [[0.1, 0.0, 0.2, 0.7]])
