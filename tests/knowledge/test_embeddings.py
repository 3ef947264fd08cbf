"""Embeddings: the model each provider names, the fake's behaviour, and the
real MiniLM shipped in a package, loaded offline."""

from __future__ import annotations

import math
import os

import pytest

from agent_service.config import EmbeddingsConfig
from agent_service.knowledge.embeddings import HashedEmbeddings, embedding_model_name, minilm_dir
from agent_service.knowledge.service import KnowledgeBaseService


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


@pytest.mark.parametrize(
    ("config", "name"),
    [
        ({"provider": "local"}, "all-MiniLM-L6-v2"),
        ({"provider": "openai"}, "text-embedding-3-small"),
        ({"provider": "openai", "model": "bge-m3"}, "bge-m3"),
        ({"provider": "fake"}, "fake"),
    ],
)
def test_model_names(config: dict, name: str):
    assert embedding_model_name(EmbeddingsConfig(**config)) == name


def test_hashed_embeddings_are_deterministic_and_normalised():
    embeddings = HashedEmbeddings()
    [first] = embeddings.embed_documents(["Reboot the router"])

    assert first == embeddings.embed_query("Reboot the router")
    assert math.isclose(sum(x * x for x in first), 1.0)
    assert cosine(first, embeddings.embed_query("rebooting routers")) > cosine(first, embeddings.embed_query("bananas"))


def test_embedded_minilm_finds_a_paraphrase(make_service, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # restored after the test
    assert (minilm_dir() / "model.safetensors").is_file()
    service: KnowledgeBaseService = make_service(embeddings={"provider": "local"})

    car, automobile, fruit = service.embeddings.embed_documents(
        [
            "The car engine fails to turn over on cold mornings.",
            "My automobile won't start when it is freezing.",
            "Bananas are rich in potassium.",
        ]
    )
    service.create(name="garage")
    service.add_files(
        name="garage",
        files=[
            ("car.txt", b"The car engine fails to turn over on cold mornings."),
            ("fruit.txt", b"Bananas are rich in potassium."),
            ("printer.txt", b"The printer is out of paper."),
        ],
    )
    [hit] = service.search(name="garage", query="Why does my automobile refuse to ignite?", top_k=1, score_threshold=0)

    assert len(car) == 384 and cosine(car, automobile) > cosine(car, fruit) + 0.3
    assert hit.file == "car.txt" and hit.keyword_score is None
    assert service.get(name="garage").embedding_model == "all-MiniLM-L6-v2"
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # weights come from the package, never the hub
