"""Only the server process freezes what it has loaded out of the garbage collector's walk."""

from __future__ import annotations

import gc

from agent_service import long_lived


def test_loaded_objects_are_frozen_once_the_server_turns_it_on(monkeypatch):
    monkeypatch.setattr(long_lived, "_enabled", False)
    gc.unfreeze()
    try:
        long_lived.freeze_loaded_objects()
        assert gc.get_freeze_count() == 0  # a test run or an embedding program: untouched

        long_lived.enable()
        long_lived.freeze_loaded_objects()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
