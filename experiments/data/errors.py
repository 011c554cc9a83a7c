"""The one exception type the data loaders raise for unusable input."""

from __future__ import annotations


class DataError(ValueError):
    """A data file or directory is missing, corrupt or inconsistent.

    The message always names the file and what is wrong with it, so a user
    with a broken download sees the cause instead of a traceback from deep
    inside numpy, pickle or Pillow.
    """
