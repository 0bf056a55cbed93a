"""Process-wide settings that must be in place before any deep-learning framework is imported.

Applied when ``fusion_search`` is imported, which happens before any of its modules can import Keras.
Setting them costs nothing; importing a framework is left to the modules that build or train models.
"""

from __future__ import annotations

import os

ENVIRONMENT_DEFAULTS = {
    "KERAS_BACKEND": "tensorflow",
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ start-up chatter
    # Several workers may share one GPU (`launch --workers 4 --gpus 0`): no backend may take it all at start.
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
}


def apply_environment_defaults() -> None:
    """Each default only where the user has not set the variable."""
    for name, value in ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
