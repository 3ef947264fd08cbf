"""Short full garbage collections, by keeping what is loaded out of them.

A full collection walks every object the collector tracks, with the event
loop stopped. Once LangChain, the openai SDK and Chroma are loaded that is
over 300,000 objects: 120-200 ms per pass, several times a minute under
load, each one added to every stream in flight. Modules, clients and models
live as long as the process, so once they are loaded they are frozen out of
the walk (`gc.freeze`); a full pass then takes a tenth of the time.

Only the server process freezes (`agent-service serve` turns it on). A test
run or a program that embeds the app builds and drops many apps, and a
frozen object that later becomes cyclic garbage is never collected.
"""

from __future__ import annotations

import gc

_enabled = False


def enable() -> None:
    global _enabled
    _enabled = True


def freeze_loaded_objects() -> None:
    """Call after loading something that lives as long as the process (libraries, models, clients)."""
    if _enabled:
        gc.freeze()
