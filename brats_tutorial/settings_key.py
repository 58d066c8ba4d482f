"""Names from settings: a short, stable hexadecimal key for anything JSON can write.

:func:`settings_key` is the one way folders are named after their settings: training runs
(:mod:`brats_tutorial.course`), slice caches (:mod:`brats_tutorial.cache`) and work folders. Equal
settings give equal keys whatever the order of their dictionary keys, so a folder made in a chapter
is found again from the command line and the reverse.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def settings_key(settings: Any, length: int = 10) -> str:
    """A short hexadecimal name for some settings: equal settings, equal names.

    Args:
        settings: anything JSON can write (objects that it cannot are written with ``str``).
        length: number of hexadecimal digits.

    >>> settings_key({"epochs": 20, "image_size": 64}) == settings_key({"image_size": 64, "epochs": 20})
    True
    >>> len(settings_key("any text", length=8))
    8
    """
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
