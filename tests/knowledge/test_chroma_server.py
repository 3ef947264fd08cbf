"""With a Chroma server URL, each base is a collection on that server (here a
real `chroma run` on 127.0.0.1); nothing is stored under `<kb>/vector_store/`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent_service.knowledge.service import KnowledgeBaseService
from agent_service.knowledge.vector_store import collection_name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chroma = Path(sys.executable).with_name("chroma")
    port = free_port()
    server = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path_factory.mktemp("chroma")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("the Chroma server did not start")
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


def collections(url: str) -> list[str]:
    import chromadb
    from chromadb.config import Settings

    port = int(url.rsplit(":", 1)[1])
    with chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False)) as client:
        return [collection.name for collection in client.list_collections()]


def test_a_base_lives_in_a_server_collection(make_service, chroma_server: str):
    service: KnowledgeBaseService = make_service(chroma_url=chroma_server)
    service.create(name="手册")
    service.add_files(name="手册", files=[("pump.txt", b"Pump error E-7731."), ("router.txt", b"Reboot the router.")])

    [hit] = service.search(name="手册", query="E-7731", top_k=1)
    names_while_alive = collections(chroma_server)
    service.delete_file(name="手册", file_name="pump.txt")
    count_after_delete = service._vector_index("手册").count()
    service.delete(name="手册")

    assert hit.file == "pump.txt"
    assert collection_name("手册") in names_while_alive
    assert count_after_delete == 1
    assert collection_name("手册") not in collections(chroma_server)
    assert not (service.kb_root / "手册").exists()
