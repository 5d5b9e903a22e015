"""Importing heavy libraries on first use, safely from many threads.

dlt (0.4 s) and pyarrow (0.2 s) load only when a collect finds something new to decode. A collect
reads in many threads, and their modules import one another: two threads importing them at once
can get a module still half initialised ("cannot import name ... from partially initialized
module"). Every import made after start-up by reading threads goes through `lazy`, one at a time.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

_LOCK = threading.Lock()


def lazy(module: str) -> ModuleType:
    """The module, imported now if it was not yet, while no other thread imports through here."""
    with _LOCK:
        return importlib.import_module(module)
