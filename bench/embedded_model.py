"""Benchmark: the embedded default model (Qwen2.5-Coder-1.5B-Instruct) doing the
first five minutes' work, through the service's HTTP routes (in-process ASGI):

- agent mode: 10 arithmetic and 10 unit/time questions; for each, the right
  tool, the right input (the calculator's expression gives the expected value;
  the converter's units and value; the clock's time zone) and the right final
  answer (it holds the number, or what the tool said);
- knowledge base over three documents written here: 10 answerable questions
  (the document's fact and a [n] citation in the answer) and 5 it does not
  cover (declined);
- chat: time to first token and tokens/s; a two-step agent answer cold (a new
  worker) and warm (the same question again: llama.cpp reuses the prompt's
  prefix); the worker's RSS with the model loaded; the first start (join the
  slices, check them, load).

Run: `.venv/bin/python bench/embedded_model.py` (about 10 minutes on 2 cores).
`BENCH_ONLY=agent|kb|speed` runs one part.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from agent_service.api.app import create_app
from agent_service.config import Settings
from agent_service.llm.embedded import QWEN_CODER

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the shipped tools, to check the calculator's input with the calculator
ONLY = os.environ.get("BENCH_ONLY")


def number_in(text: str, value: float, places: int = 2) -> bool:
    """`value` appears in `text` (commas ignored), to `places` decimals or as an integer."""
    for found in re.findall(r"-?\d[\d,]*\.?\d*", text):
        try:
            got = float(found.replace(",", "").rstrip("."))
        except ValueError:
            continue
        if abs(got - value) <= 0.5 * 10**-places or round(got, places) == round(value, places):
            return True
    return False


def calculates(value: float) -> Callable[[dict], bool]:
    def check(tool_input: dict) -> bool:
        from tools.calculator import calculator

        try:
            return abs(float(calculator.invoke(tool_input)) - value) < 1e-6
        except Exception:  # noqa: BLE001 - a wrong input is a miss
            return False

    return check


def converts(value: float, source: str, target: str) -> Callable[[dict], bool]:
    names = {
        "mi": {"mi", "mile", "miles"},
        "km": {"km", "kilometer", "kilometers", "kilometre", "kilometres"},
        "F": {"f", "fahrenheit", "°f"},
        "C": {"c", "celsius", "°c"},
        "kg": {"kg", "kilogram", "kilograms"},
        "lb": {"lb", "lbs", "pound", "pounds"},
        "GiB": {"gib"},
        "MB": {"mb", "megabyte", "megabytes"},
        "in": {"in", "inch", "inches"},
        "cm": {"cm", "centimeter", "centimeters", "centimetre", "centimetres"},
        "ft": {"ft", "foot", "feet"},
        "g": {"g", "gram", "grams"},
        "oz": {"oz", "ounce", "ounces"},
    }

    def check(tool_input: dict) -> bool:
        try:
            return (
                abs(float(tool_input.get("value")) - value) < 1e-9
                and str(tool_input.get("from_unit", "")).strip().lower() in names[source]
                and str(tool_input.get("to_unit", "")).strip().lower() in names[target]
            )
        except (TypeError, ValueError):
            return False

    return check


def in_zone(zone: str) -> Callable[[dict], bool]:
    return lambda tool_input: str(tool_input.get("timezone", "UTC")).lower() == zone.lower()


def says_number(value: float, places: int = 2) -> Callable[[str, str], bool]:
    return lambda answer, _output: number_in(answer, value, places)


def says_time(answer: str, output: str) -> bool:
    clock = re.search(r"(\d{1,2}):(\d{2})", output)
    return bool(clock) and f"{int(clock.group(1))}:{clock.group(2)}" in answer.replace(" 0", " ")


def says_weekday(answer: str, output: str) -> bool:
    day = re.search(r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday", output)
    return bool(day) and day.group(0) in answer


def says_date(answer: str, output: str) -> bool:
    date = re.search(r"(\d{4})-(\d{2})-(\d{2})", output)
    if not date:
        return False
    year, month, day = date.groups()
    months = "January February March April May June July August September October November December".split()
    return date.group(0) in answer or (months[int(month) - 1] in answer and str(int(day)) in answer)


ARITHMETIC = [
    ("What is 17*23?", "calculator", calculates(391), says_number(391)),
    ("What is 1234 + 5678?", "calculator", calculates(6912), says_number(6912)),
    ("How many seconds are there in 3 hours?", "calculator", calculates(10800), says_number(10800)),
    ("What is 2**10 + 3?", "calculator", calculates(1027), says_number(1027)),
    ("What is the square root of 1764?", "calculator", calculates(42), says_number(42)),
    ("What is 15% of 240?", "calculator", calculates(36), says_number(36)),
    ("Compute (48 - 13) * 7.", "calculator", calculates(245), says_number(245)),
    ("What is 987654 divided by 3?", "calculator", calculates(329218), says_number(329218)),
    ("What is 3 to the power of 7?", "calculator", calculates(2187), says_number(2187)),
    ("What is 12345 times 6789?", "calculator", calculates(83810205), says_number(83810205)),
]
UNITS_AND_TIME = [
    ("How many kilometres is 5 miles?", "unit_converter", converts(5, "mi", "km"), says_number(8.05, 1)),
    ("Convert 100 degrees Fahrenheit to Celsius.", "unit_converter", converts(100, "F", "C"), says_number(37.8, 1)),
    ("How many pounds is 3 kg?", "unit_converter", converts(3, "kg", "lb"), says_number(6.6, 1)),
    ("What is 2 GiB in MB?", "unit_converter", converts(2, "GiB", "MB"), says_number(2147.48, 0)),
    ("Convert 12 inches to centimetres.", "unit_converter", converts(12, "in", "cm"), says_number(30.48)),
    ("How many feet are in 1 km?", "unit_converter", converts(1, "km", "ft"), says_number(3280.8, 0)),
    ("Convert 250 grams to ounces.", "unit_converter", converts(250, "g", "oz"), says_number(8.8, 1)),
    ("What time is it now in Tokyo?", "current_time", in_zone("Asia/Tokyo"), says_time),
    ("What day of the week is it today in UTC?", "current_time", in_zone("UTC"), says_weekday),
    ("What is the current date in New York?", "current_time", in_zone("America/New_York"), says_date),
]

DOCUMENTS = {
    "leave_policy.txt": (
        "Leave policy of Harbor Analytics (2026).\n\nEvery full-time employee receives 27 paid vacation days "
        "per calendar year. Up to 5 unused days may be carried over into the next year; the rest expire on "
        "31 March. Vacation requests must be filed at least 14 days in advance through the HR portal."
    ),
    "pump_manual.md": (
        "# AquaFlow 300 pump\n\n## Error codes\n\nError E-7731 means the pump lost pressure: check the inlet "
        "valve first, then the seals.\n\n## Maintenance\n\nRinse the intake filter every 3 weeks with warm "
        "water. The pump is covered by a 4-year warranty from the date of purchase."
    ),
    "lisbon_office.txt": (
        "Lisbon office guide.\n\nThe office opens at 8:30 and closes at 18:00 on weekdays. Visitor parking "
        "in the garage costs 12 euros per day. The guest Wi-Fi network is called HarborGuest."
    ),
}
ANSWERABLE = [
    ("How many vacation days do employees get per year?", "27"),
    ("How many unused vacation days can be carried over?", "5"),
    ("How far in advance must vacation requests be filed?", "14"),
    ("What does error E-7731 mean on the pump?", "pressure"),
    ("How often should the pump's intake filter be rinsed?", "3 weeks"),
    ("How long is the pump's warranty?", "4"),
    ("When does the Lisbon office open?", "8:30"),
    ("How much does visitor parking cost in Lisbon?", "12"),
    ("What is the name of the guest Wi-Fi network?", "HarborGuest"),
    ("At what time does the Lisbon office close?", "18:00"),
]
UNCOVERED = [
    "Who won the 1998 World Cup?",
    "What is the capital of Australia?",
    "How do I bake sourdough bread?",
    "What is the boiling point of ethanol?",
    "Who wrote War and Peace?",
]
DECLINED = re.compile(r"do(es)? not cover|not covered|cannot answer|can't answer|no information|not mention", re.I)


def events_of(body: str) -> list[dict]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


async def agent_part(client: httpx.AsyncClient) -> None:
    for title, questions in (("arithmetic", ARITHMETIC), ("units and time", UNITS_AND_TIME)):
        scores = {"tool": 0, "input": 0, "answer": 0, "all": 0}
        for question, tool, input_ok, answer_ok in questions:
            started = time.perf_counter()
            response = await client.post("/chat/agent_chat", json={"query": question, "stream": True}, timeout=300)
            events = events_of(response.text)
            starts = [e for e in events if e["type"] == "tool_start"]
            ends = [e for e in events if e["type"] == "tool_end"]
            final = next((e["text"] for e in events if e["type"] == "final_answer"), "")
            right_tool = bool(starts) and starts[0]["tool"] == tool
            right_input = right_tool and input_ok(starts[0]["input"] if isinstance(starts[0]["input"], dict) else {})
            output = str(ends[0]["output"]) if ends else ""
            right_answer = answer_ok(final, output)
            for key, ok in (("tool", right_tool), ("input", right_input), ("answer", right_answer)):
                scores[key] += ok
            scores["all"] += right_tool and right_input and right_answer
            calls = ", ".join(f"{e['tool']}({json.dumps(e['input'])})" for e in starts) or "no tool"
            print(f"  {time.perf_counter() - started:5.1f}s  {question!r}: {calls} -> {final[:90]!r}")
        print(
            f"agent, {title}: right tool {scores['tool']}/10, right input {scores['input']}/10, "
            f"right answer {scores['answer']}/10, all three {scores['all']}/10"
        )


async def kb_part(client: httpx.AsyncClient) -> None:
    await client.post("/knowledge_bases", json={"name": "company"})
    files = [("files", (name, text.encode())) for name, text in DOCUMENTS.items()]
    response = await client.post("/knowledge_bases/company/files", files=files, timeout=300)
    assert response.status_code == 200, response.text
    answered = 0
    for question, fact in ANSWERABLE:
        started = time.perf_counter()
        body = {"query": question, "knowledge_base_name": "company", "stream": True}
        events = events_of((await client.post("/chat/knowledge_base_chat", json=body, timeout=300)).text)
        answer = "".join(e["text"] for e in events if e["type"] == "token")
        ok = fact.lower() in answer.lower() and bool(re.search(r"\[\d\]", answer))
        answered += ok
        print(f"  {time.perf_counter() - started:5.1f}s  {'ok ' if ok else 'MISS'} {question!r} -> {answer[:110]!r}")
    declined = 0
    for question in UNCOVERED:
        body = {"query": question, "knowledge_base_name": "company", "stream": True}
        events = events_of((await client.post("/chat/knowledge_base_chat", json=body, timeout=300)).text)
        answer = "".join(e["text"] for e in events if e["type"] == "token")
        sources = next((len(e["sources"]) for e in events if e["type"] == "docs"), 0)
        ok = bool(DECLINED.search(answer))
        declined += ok
        print(f"  {'ok ' if ok else 'MISS'} {question!r} ({sources} sources) -> {answer[:110]!r}")
    print(f"knowledge base: answered from the source with a citation {answered}/10; declined {declined}/5")


def serve(app) -> tuple[uvicorn.Server, str]:  # noqa: ANN001
    """The app under uvicorn on 127.0.0.1: timing tokens needs a real stream (ASGITransport buffers it)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


async def speed_part(client: httpx.AsyncClient, app) -> None:  # noqa: ANN001
    worker = app.state.services.models.local_worker
    server, url = serve(app)
    client = httpx.AsyncClient(base_url=url)
    ttfts, rates = [], []
    for question in ["Tell me about the history of Lisbon.", "Explain how a heat pump works.", "What is a B-tree?"]:
        started = time.perf_counter()
        first = None
        tokens = 0
        async with client.stream(
            "POST", "/chat/chat", json={"query": question, "stream": True, "max_tokens": 200}, timeout=300
        ) as response:
            async for line in response.aiter_lines():
                if '"type":"token"' in line:
                    tokens += 1
                    first = first or time.perf_counter()
        ended = time.perf_counter()
        ttfts.append(first - started)
        rates.append((tokens - 1) / (ended - first))
    print(
        f"chat: time to first token {statistics.median(ttfts) * 1000:.0f} ms (median of 3, warm model), "
        f"{statistics.median(rates):.1f} tokens/s"
    )
    rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{worker.pid}/status").read_text()).group(1)) // 1024
    print(f"worker RSS with the model loaded: {rss} MB")

    question = {"query": "What is 17*23?", "stream": True, "tools": ["calculator"]}
    await asyncio.to_thread(worker.close)
    for label in ("cold (new worker, model loaded)", "warm (same question again)", "warm, another question"):
        if label.startswith("warm, another"):
            question = {**question, "query": "What is 2**10 + 3?"}
        started = time.perf_counter()
        events = events_of((await client.post("/chat/agent_chat", json=question, timeout=300)).text)
        steps = sum(e["type"] == "tool_start" for e in events) + 1
        print(f"agent, {steps} model steps, {label}: {time.perf_counter() - started:.1f} s")
    await client.aclose()
    server.should_exit = True


def first_start(cache: Path) -> None:
    """Join and check the slices, then load: what a fresh clone's first message waits for."""
    from llama_cpp import Llama

    shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    path = QWEN_CODER.path(cache)
    joined = time.perf_counter()
    Llama(model_path=str(path), n_ctx=4096, verbose=False)
    print(f"first start: join and check the slices {joined - started:.1f} s, load {time.perf_counter() - joined:.1f} s")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            kb_root=Path(tmp) / "kb",
            prompts_dir=REPO / "prompts",
            tools_dir=REPO / "tools",
            embedded_model="qwen2.5-coder-1.5b",
        )
        if ONLY in (None, "speed"):
            await asyncio.to_thread(first_start, settings.data_dir / "models")
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            if ONLY in (None, "agent"):
                await agent_part(client)
            if ONLY in (None, "kb"):
                await kb_part(client)
            if ONLY in (None, "speed"):
                await speed_part(client, app)
        await app.state.services.models.aclose()
        app.state.services.close()


if __name__ == "__main__":
    asyncio.run(main())
