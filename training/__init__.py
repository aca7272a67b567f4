"""MNIST Studio's training package: data, models, training, the model store and prediction.

Importing the package is cheap; TensorFlow is imported only by the modules that need it.
"""

import os

# TensorFlow's C++ start-up chatter (CPU feature notes, XLA registration) is noise for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
