"""Benchmark: what /chat/knowledge_base_chat adds over its upstream, at 1 and 64 concurrent streams.

Starts, each in its own process on 127.0.0.1: a fake OpenAI-compatible chat upstream (first token after
50 ms, then 64 tokens 10 ms apart), a fake OpenAI-compatible embeddings server (`/v1/embeddings`,
hashed embeddings, answers at once; both are `python -m tests.fake_openai`) and the service
(`agent_service.cli serve`, SQLite and embedded Chroma in a temp dir) with
`AGENT_SERVICE_EMBEDDINGS={"provider": "openai", "base_url": <the fake>}`. Through the REST API it
creates a knowledge base and uploads a few generated documents (a few hundred chunks). Then, for each
concurrency, it streams straight from the upstream, then through `/chat/knowledge_base_chat` (a
different question each time, a new conversation each: search with the query embedded by the
embeddings server; the conversation and both messages written), and prints median/p95 time-to-first-token (the first
`"type":"token"` event) and full-stream time, the difference, failed streams, the service's CPU time
per request, its peak RSS, and the time to the first event (through the service: `metadata`, sent once
the search and the user's message are done; the rest of TTFT is the upstream's).
Targets: at most 50 ms added at 1 stream, 500 ms at 64, none failed.
Run: `.venv/bin/python bench/kb_chat_stream.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from processes import free_port, levels, peak_rss_mb, start_profiler, wait_until_up
from streams import compare

REPO = Path(__file__).resolve().parent.parent
LEVELS = levels("1,64")
KB = "bench"
DOCUMENTS = 4
PARAGRAPHS = 60  # per document: about 100 chunks at the default chunking

THINGS = [
    "backup service", "load balancer", "edge router", "pump controller", "inlet valve", "pressure sensor",
    "expense claim", "travel policy", "vendor invoice", "payment run", "cooling fan", "message queue",
]  # fmt: skip
ACTIONS = ["restart", "calibrate", "approve", "replace", "reconcile", "inspect", "upgrade", "reset"]
SYMPTOMS = [
    "returns HTTP 502 errors", "overheats after two hours", "is missing a signature", "loses pressure slowly",
    "does not match the bank statement", "drops connections under load", "makes a grinding noise",
]  # fmt: skip
SENTENCES = [
    "If the {thing} {symptom}, the on-call engineer should {action} it and quote ticket {code}.",
    "Error {code} means that the {thing} {symptom}; it happened {n} times last quarter.",
    "To {action} the {thing}, stop every job that depends on it, then follow checklist {code}.",
    "The {thing} must be checked every {n} days; the result goes into the log with reference {code}.",
]
QUESTIONS = ["How do I {action} the {thing}?", "What does error {code} mean?", "What if the {thing} {symptom}?"]


def fill(template: str, rng: random.Random) -> str:
    return template.format(
        thing=rng.choice(THINGS),
        action=rng.choice(ACTIONS),
        symptom=rng.choice(SYMPTOMS),
        code=f"E-{rng.randint(1000, 9999)}",
        n=rng.randint(2, 99),
    )


def document(rng: random.Random, index: int) -> tuple[str, bytes]:
    lines = [f"# Handbook {index}", ""]
    for number in range(PARAGRAPHS):
        if number % 5 == 0:
            lines += [f"## {number // 5 + 1}. The {rng.choice(THINGS)}", ""]
        lines += [" ".join(fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(2, 6))), ""]
    return f"handbook-{index}.md", "\n".join(lines).encode()


async def make_knowledge_base(client: httpx.AsyncClient, service: str) -> int:
    """Create the base and upload the documents through the REST API; the number of chunks indexed."""
    created = await client.post(f"{service}/knowledge_bases", json={"name": KB})
    created.raise_for_status()
    rng = random.Random(1)
    files = [("files", document(rng, index)) for index in range(DOCUMENTS)]
    uploaded = await client.post(f"{service}/knowledge_bases/{KB}/files", files=files)
    uploaded.raise_for_status()
    results = uploaded.json()
    if any(result["status"] != "indexed" for result in results):
        raise RuntimeError(f"upload failed: {results}")
    return sum(result["chunk_count"] for result in results)


async def warm_up(client: httpx.AsyncClient, service: str, questions: list[str]) -> None:
    """A few answers without streaming: opens Chroma, the keyword index, the clients; checks sources come back."""
    for question in questions[:5]:
        body = {"query": question, "knowledge_base_name": KB, "stream": False, "model_name": "bench"}
        answer = await client.post(f"{service}/chat/knowledge_base_chat", json=body)
        answer.raise_for_status()
        if not answer.json()["sources"]:
            raise RuntimeError(f"no sources found for {question!r}")


async def bench(upstream: str, service: str, service_pid: int) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        chunks = await make_knowledge_base(client, service)
        rng = random.Random(2)
        questions = [fill(rng.choice(QUESTIONS), rng) for _ in range(500)]
        await warm_up(client, service, questions)
        print(f"knowledge base: {DOCUMENTS} files, {chunks} chunks; embeddings from a fake /v1/embeddings")

        def service_body(i: int) -> dict:
            question = questions[i % len(questions)]
            return {"query": question, "knowledge_base_name": KB, "stream": True, "model_name": "bench"}

        start_profiler(service_pid)  # after the set-up
        await compare(
            levels=LEVELS,
            upstream=upstream,
            service_url=f"{service}/chat/knowledge_base_chat",
            service_body=service_body,
            service_pid=service_pid,
        )
        print(f"service peak RSS: {peak_rss_mb(service_pid):.0f} MB (no local model loaded)")
        print("targets: TTFT added <= 50 ms at 1 stream, <= 500 ms at 64; no failed stream")


def start(args: list[str], *, cwd: Path, env: dict[str, str], output=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=output, stderr=output)


def main() -> None:
    upstream_port, embeddings_port, service_port = free_port(), free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    embeddings_url = f"http://127.0.0.1:{embeddings_port}"
    service_url = f"http://127.0.0.1:{service_port}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "AGENT_SERVICE_DATA_DIR": str(root / "data"),
            "AGENT_SERVICE_KB_ROOT": str(root / "knowledge_base"),
            "AGENT_SERVICE_PROMPTS_DIR": str(REPO / "prompts"),
            "AGENT_SERVICE_MODELS": json.dumps({"bench": {"provider": "openai", "base_url": f"{upstream_url}/v1"}}),
            "AGENT_SERVICE_EMBEDDINGS": json.dumps(
                {"provider": "openai", "base_url": f"{embeddings_url}/v1", "model": "bench-embeddings"}
            ),
        }
        log = root / "service.log"
        serve = ["-m", "agent_service.cli", "serve", "--port", str(service_port)]
        with open(log, "wb") as output:  # the service keeps its own descriptor
            service = start(serve, cwd=root, env=env, output=output)
        processes = [
            service,
            start(["-m", "tests.fake_openai", "--port", str(upstream_port)], cwd=REPO, env=env),
            start(["-m", "tests.fake_openai", "--port", str(embeddings_port)], cwd=REPO, env=env),
        ]
        try:
            for url in (f"{upstream_url}/v1/models", f"{embeddings_url}/v1/models", f"{service_url}/health"):
                wait_until_up(url)
            asyncio.run(bench(upstream_url, service_url, service.pid))
        except Exception:
            print("service log (last lines):", *log.read_text(errors="replace").splitlines()[-20:], sep="\n")
            raise
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
