"""What the service takes from its dependencies beyond their documented APIs.

Each test names the dependency and what the service relies on, so an upgrade
that changes it fails here, loudly, before it fails somewhere deep in a turn.
"""

from __future__ import annotations

import inspect

import pytest


def contract(dependency: str, relied_on: str, holds: bool) -> None:
    if not holds:
        pytest.fail(f"{dependency} changed: agent-service relies on {relied_on}; see the module that uses it")


def test_openai_make_request_options():
    from openai._base_client import make_request_options  # agent_service/llm/openai_client.py

    parameters = inspect.signature(make_request_options).parameters
    contract(
        "openai",
        "openai._base_client.make_request_options(extra_headers, extra_query, extra_body, timeout, security)",
        {"extra_headers", "extra_query", "extra_body", "timeout", "security"} <= set(parameters),
    )


def test_langchain_openai_async_client_can_be_replaced():
    from langchain_openai import ChatOpenAI  # agent_service/llm/registry.py swaps async_client

    model = ChatOpenAI(model="m", api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    contract("langchain-openai", "ChatOpenAI.root_async_client", model.root_async_client is not None)
    contract(
        "langchain-openai",
        "ChatOpenAI.async_client being client.chat.completions",
        model.async_client is model.root_async_client.chat.completions,
    )


def test_langchain_chroma_collection(tmp_path):
    from langchain_chroma import Chroma  # agent_service/knowledge/vector_store.py queries store._collection

    from agent_service.knowledge.embeddings import HashedEmbeddings

    store = Chroma(collection_name="contract", embedding_function=HashedEmbeddings(), persist_directory=str(tmp_path))
    contract(
        "langchain-chroma",
        "Chroma._collection, a chromadb Collection with query()",
        callable(getattr(getattr(store, "_collection", None), "query", None)),
    )


def test_langchain_classic_runnable_agent_stream_runnable():
    from langchain_classic.agents.agent import RunnableAgent  # agent_service/agents/executor.py turns it off

    contract("langchain-classic", "RunnableAgent.stream_runnable", "stream_runnable" in RunnableAgent.model_fields)
