"""The embedded models' files: slices joined once and checked, a bad slice refused by name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent_service.llm.embedded import QWEN_CODER, SMOLLM2, EmbeddedModelError, join_slices


def slices(tmp_path: Path, *contents: bytes) -> list[tuple[Path, str]]:
    made = []
    for n, content in enumerate(contents, start=1):
        path = tmp_path / f"part{n:02d}.bin"
        path.write_bytes(content)
        made.append((path, hashlib.sha256(content).hexdigest()))
    return made


def whole(*contents: bytes) -> tuple[int, str]:
    joined = b"".join(contents)
    return len(joined), hashlib.sha256(joined).hexdigest()


def test_slices_are_joined_in_order(tmp_path):
    parts = (b"GGUF head ", b"middle ", b"tail")
    target = tmp_path / "cache" / "model.gguf"

    join_slices(slices(tmp_path, *parts), target, *whole(*parts))

    assert target.read_bytes() == b"GGUF head middle tail"
    assert [p.name for p in target.parent.iterdir()] == ["model.gguf"]  # nothing half-written beside it


def test_a_tampered_slice_is_refused_by_name_and_nothing_is_left(tmp_path):
    parts = (b"GGUF head ", b"middle ", b"tail")
    made = slices(tmp_path, *parts)
    made[1][0].write_bytes(b"MIDDLE ")  # same size, other bytes
    target = tmp_path / "cache" / "model.gguf"

    with pytest.raises(EmbeddedModelError, match=r"part02\.bin has another SHA-256"):
        join_slices(made, target, *whole(*parts))
    assert list(target.parent.iterdir()) == []


def test_a_missing_slice_is_refused_by_name(tmp_path):
    parts = (b"GGUF head ", b"middle ", b"tail")
    made = slices(tmp_path, *parts)
    made[2][0].unlink()

    with pytest.raises(EmbeddedModelError, match=r"missing: .*part03\.bin"):
        join_slices(made, tmp_path / "model.gguf", *whole(*parts))


def test_slices_that_join_into_another_file_are_refused(tmp_path):
    made = slices(tmp_path, b"a", b"b")

    with pytest.raises(EmbeddedModelError, match="not the published file"):
        join_slices(made, tmp_path / "model.gguf", *whole(b"a", b"c"))


def test_the_installed_slices_are_the_published_model():
    paths = QWEN_CODER.slice_paths()

    assert len(paths) == 22 and all(path.is_file() for path in paths)
    assert sum(path.stat().st_size for path in paths) == QWEN_CODER.size


def test_smollm2_ships_whole_in_its_package(tmp_path):
    path = SMOLLM2.path(tmp_path)

    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_the_setting_names_exactly_the_embedded_models():
    from typing import get_args

    from agent_service.config import EmbeddedModelName
    from agent_service.llm.embedded import EMBEDDED_MODELS

    assert set(get_args(EmbeddedModelName)) == set(EMBEDDED_MODELS)
