"""The one exception type for bad input: a config, a problem string, or a checkpoint.

Every entry point catches :class:`InputError`, prints its message on one line and exits non-zero, so the message
must say what is wrong and how to fix it.
"""


class InputError(ValueError):
    """A request that cannot be served as given; the message names the problem and the fix."""
