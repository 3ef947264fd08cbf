"""`agent-service kb ...` manages knowledge bases from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_service import cli


def run(*args: str) -> None:
    cli.main(["kb", *args])


COMMANDS = [
    ["create", "home", "--description", "Manuals"],
    ["add", "home", "{docs}"],
    ["list"],
    ["list", "home"],
    ["search", "home", "E-7731", "--top-k", "1"],
    ["reindex", "home"],
    ["delete", "home"],
]


@pytest.mark.parametrize("where", ["in-process", "through a running service"])
def test_create_add_list_search_reindex_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, make_settings, live_server_for, where: str
):
    monkeypatch.setenv("AGENT_SERVICE_KB_ROOT", str(tmp_path / "kb"))
    monkeypatch.setenv("AGENT_SERVICE_EMBEDDINGS", '{"provider": "fake"}')
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pumps.txt").write_text("Error E-7731 means the pump lost pressure.")
    (docs / "filters.md").write_text("# Filters\n\nRinse the filter every month.")
    url, app = [], None
    if where != "in-process":
        from agent_service.api.app import create_app

        app = create_app(make_settings())
        url = ["--url", live_server_for(app)]

    for command in COMMANDS:
        cli.main(["kb", *url, *(arg.format(docs=docs) for arg in command)])
    captured = capsys.readouterr()
    if app is not None:
        app.state.services.close()

    out = captured.out.splitlines()
    assert out[0] == "created home (embeddings: fake)"
    assert " indexed  pumps.txt  (1 chunks)" in out
    assert "home  2 files  2 chunks  Manuals" in out
    assert "1.000  pumps.txt#0  Error E-7731 means the pump lost pressure." in out
    assert out[-1] == "deleted home"
    assert "[##############################] 2/2" in captured.err  # the progress bar (the service's, drawn here)


def test_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENT_SERVICE_KB_ROOT", str(tmp_path / "kb"))
    monkeypatch.setenv("AGENT_SERVICE_EMBEDDINGS", '{"provider": "fake"}')

    with pytest.raises(SystemExit, match="^error: knowledge base 'nope' not found$"):
        run("search", "nope", "anything")


def test_a_search_with_no_relevant_chunk_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("AGENT_SERVICE_KB_ROOT", str(tmp_path / "kb"))
    monkeypatch.setenv("AGENT_SERVICE_EMBEDDINGS", '{"provider": "fake"}')
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pumps.txt").write_text("Error E-7731 means the pump lost pressure.")
    run("create", "home")
    run("add", "home", str(docs))
    capsys.readouterr()

    run("search", "home", "zebra migration routes")

    assert capsys.readouterr().out == "no chunk of home is relevant enough to 'zebra migration routes'\n"


def test_with_url_a_refusal_is_one_line(live_server: str):
    with pytest.raises(SystemExit, match="^error: knowledge base 'nope' not found$"):
        cli.main(["kb", "--url", live_server, "search", "nope", "anything"])
