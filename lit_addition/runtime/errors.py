"""The one exception for bad input: a config, a flag, a problem string or a checkpoint.

Every entry point catches :class:`InputError`, prints its message on one line and exits non-zero, so the message says
what is wrong and how to fix it. It lives in ``runtime/`` because ``export`` ships it beside the model: the exported
runner and web demo refuse a bad problem with the same class and the same words.
"""


class InputError(ValueError):
    """A request that cannot be served as given; the message names the problem and the fix."""
