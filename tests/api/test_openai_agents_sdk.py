"""The OpenAI Agents SDK against /v1 unchanged, on chat completions (`OpenAIChatCompletionsModel`)
and on the Responses API (`OpenAIResponsesModel`, its default): an agent with a
function tool, a handoff between two agents, structured output (`output_type=`), and an agent
whose model is the service's own agent (`chat_mode: chat_agent`), whose tools run on the server.
The fake upstream answers as a capable model would (tests/plausible_model.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agents import (
    Agent,
    Model,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI
from pydantic import BaseModel

from agent_service.api.app import create_app
from tests.conftest import REPO
from tests.fake_openai import FakeOpenAI
from tests.plausible_model import plausible_reply

set_tracing_disabled(True)  # the SDK would send traces to OpenAI


@pytest.fixture
def service(make_settings, live_server_for, tmp_path: Path) -> Iterator[str]:
    upstream = FakeOpenAI(responder=plausible_reply).start()
    tools = tmp_path / "tools"
    tools.mkdir()
    shutil.copy(REPO / "tools" / "calculator.py", tools)
    base = {"provider": "openai", "base_url": upstream.base_url, "api_key": "sk-x", "max_retries": 0}
    app = create_app(
        make_settings(models={"gpt-test": base, "native": {**base, "agent_style": "tool_calling"}}, tools_dir=tools)
    )
    yield live_server_for(app)
    app.state.services.close()
    upstream.stop()


@pytest.fixture(params=[OpenAIChatCompletionsModel, OpenAIResponsesModel], ids=["chat_completions", "responses"])
def model(request, service: str) -> Callable[..., Model]:
    """The SDK's model on /v1: on chat completions, and on the Responses API (its default)."""

    def make(name: str = "gpt-test") -> Model:
        return request.param(model=name, openai_client=AsyncOpenAI(base_url=f"{service}/v1", api_key="unused"))

    return make


async def test_an_agent_calls_its_function_tool_and_answers_from_the_result(model):
    ran = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"18 °C in {city}"

    agent = Agent(name="Assistant", instructions="Answer briefly.", tools=[get_weather], model=model())

    result = await Runner.run(agent, 'What is the weather in "Paris"?')

    assert ran == ["Paris"]
    assert "18 °C in Paris" in result.final_output


async def test_a_handoff_passes_the_conversation_to_the_other_agent(model):
    spanish = Agent(name="Spanish agent", instructions="Answer in Spanish.", model=model())
    triage = Agent(name="Triage", instructions="Hand off to the right agent.", handoffs=[spanish], model=model())

    result = await Runner.run(triage, "Please pass me to the Spanish agent.")

    assert result.last_agent is spanish and result.final_output


class Person(BaseModel):
    name: str
    born: int


async def test_output_type_gets_a_validated_object(model):
    agent = Agent(name="Historian", instructions="Answer with a person.", output_type=Person, model=model())

    result = await Runner.run(agent, 'Who wrote the first program? "Ada Lovelace", born 1815.')

    assert result.final_output == Person(name="Ada Lovelace", born=1815)


async def test_the_services_own_agent_runs_its_tools_without_the_sdk_seeing_them_as_its_own(model):
    """Its calls come as extensions, not `tool_calls` the SDK would look for among its tools."""
    settings = ModelSettings(extra_body={"chat_mode": "chat_agent", "chat_param": ["calculator"]})
    agent = Agent(name="Remote", instructions="Use your tools.", model=model("native"), model_settings=settings)

    result = await Runner.run(agent, 'Compute "3*3" with the calculator.')

    assert result.final_output == "The result is 9."
