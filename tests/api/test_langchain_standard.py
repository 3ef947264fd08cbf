"""LangChain's own standard tests for chat models (`langchain-tests`), run with `ChatOpenAI`
pointed at the service's `/v1` (chat completions, and the Responses API with
`use_responses_api=True`), in its default mode, over a fake upstream that answers as a
capable model would (tests/plausible_model.py). What they exercise: invoke, stream, batch,
usage, stop sequences, model override, the client's tools and tool messages, tool choice,
structured output and JSON mode. Skipped, with langchain-tests' own reasons: PDF, audio and
image inputs, image and PDF tool messages (modalities the service does not take), Anthropic's
input format (not OpenAI's), and the stream-time benchmark (it needs VCR cassettes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests

from agent_service.api.app import create_app
from agent_service.config import Settings
from tests.conftest import REPO
from tests.fake_openai import FakeOpenAI
from tests.plausible_model import plausible_reply
from tests.threaded_server import ThreadedServer

SERVICE: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    upstream = FakeOpenAI(responder=plausible_reply).start()
    data = tmp_path_factory.mktemp("standard")
    settings = Settings(
        data_dir=data / "data",
        kb_root=data / "knowledge_base",
        prompts_dir=REPO / "prompts",
        embeddings={"provider": "fake"},
        models={
            name: {"provider": "openai", "base_url": upstream.base_url, "api_key": "sk-x", "max_retries": 0}
            for name in ("gpt-test", "gpt-other")
        },
    )
    app = create_app(settings)
    server = ThreadedServer(app, lifespan="on")
    SERVICE["url"] = server.start()
    yield SERVICE["url"]
    server.stop(timeout=10)
    app.state.services.close()
    upstream.stop()


class TestChatOpenAIThroughTheService(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatOpenAI]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict:
        # stream_usage: usage at the end of a stream, which an OpenAI-compatible server sends when asked.
        return {
            "model": "gpt-test",
            "base_url": f"{SERVICE['url']}/v1",
            "api_key": "unused",
            "max_retries": 0,
            "stream_usage": True,
        }

    @property
    def model_override_value(self) -> str:
        return "gpt-other"

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestChatOpenAIOnTheResponsesAPI(TestChatOpenAIThroughTheService):
    """The same tests with `ChatOpenAI(use_responses_api=True)`: `/v1/responses`."""

    @property
    def chat_model_params(self) -> dict:
        return {**super().chat_model_params, "use_responses_api": True}
