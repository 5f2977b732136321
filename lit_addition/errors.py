"""The one exception type for bad input: a config, a problem string, or a checkpoint.

Every entry point catches :class:`InputError`, prints its message on one line and exits non-zero, so the message
must say what is wrong and how to fix it. The class lives in :mod:`lit_addition.runtime.encoding`, the
dependency-free file that ``export`` ships with the ONNX model; this module is its import path in lit_addition.
"""

from lit_addition.runtime.encoding import InputError

__all__ = ["InputError"]
