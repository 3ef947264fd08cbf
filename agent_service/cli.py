"""The `agent-service` command: `serve` runs the API, `chat` talks to it, `kb` manages knowledge bases."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator

import httpx


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="agent-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the API and the web page")
    serve.add_argument("--host", default=None, help="default 127.0.0.1 (AGENT_SERVICE_HOST)")
    serve.add_argument("--port", type=int, default=None, help="default 7861 (AGENT_SERVICE_PORT)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes (replicas) on one port; more than 1 needs PostgreSQL, Redis and a Chroma server",
    )
    serve.set_defaults(run=_serve)

    chat = commands.add_parser("chat", help="a terminal chat that streams replies and keeps the conversation")
    chat.add_argument("--url", help="a running service; default: start one in this process")
    chat.add_argument("--model", help="model_name to use (default: the service's default)")
    chat.add_argument("--prompt", default="default", help="prompt_name from prompts/llm_chat")
    chat.add_argument("--conversation-id", help="continue this conversation")
    chat.add_argument("--history-len", type=int, default=10, help="turns of history to send (default 10)")
    chat.add_argument("--api-key", help="sent as Authorization: Bearer")
    chat.set_defaults(run=_chat)

    from agent_service import kb_cli

    kb_cli.add_commands(commands)

    args = parser.parse_args(argv)
    args.run(args)


def _serve(args: argparse.Namespace) -> None:
    from agent_service.config import get_settings
    from agent_service.server import serve

    settings = get_settings()
    serve(settings, host=args.host or settings.host, port=args.port or settings.port, workers=args.workers)


def _start_local_server() -> str:
    """Run the service on a free loopback port in a background thread."""
    import uvicorn

    from agent_service.api.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}"


def iter_sse_data(response: httpx.Response) -> Iterator[dict]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


def who_answers(client: httpx.Client, model_name: str | None) -> str:
    """One line naming the model that answers; the embedded one is marked as a small offline model."""
    response = client.get("/models")
    if response.status_code != 200:
        return f"model: {model_name or 'the default'}"
    listed = response.json()
    model = next((m for m in listed["models"] if m["name"] == (model_name or listed["default"])), None)
    if model is None:
        return f"model: {model_name} (not configured: the service will refuse it)"
    line = f"model: {model['name']} · {model.get('title') or model['model']}"
    if embedded := model.get("embedded"):
        line += (
            f" — a small offline model ({embedded['parameters']} parameters) running on this machine;"
            " for real work, connect a real model (README: Connecting a real model)"
        )
    return line


def _chat(args: argparse.Namespace) -> None:
    url = args.url or _start_local_server()
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    conversation_id = args.conversation_id
    with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(300.0, connect=10.0)) as client:
        print(who_answers(client, args.model), file=sys.stderr)
        print("agent-service chat: type a message; Ctrl-D or /exit to quit.", file=sys.stderr)
        while True:
            try:
                query = input("\nyou> ").strip()
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return
            if query in {"/exit", "/quit"}:
                return
            if not query:
                continue
            body = {
                "query": query,
                "conversation_id": conversation_id,
                "history_len": args.history_len,
                "model_name": args.model,
                "prompt_name": args.prompt,
                "stream": True,
            }
            print("assistant> ", end="", flush=True)
            with client.stream("POST", "/chat/chat", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    print(f"[error {response.status_code}] {response.json().get('msg', response.text)}")
                    continue
                for event in iter_sse_data(response):
                    conversation_id = event.get("conversation_id", conversation_id)
                    if event.get("type") == "token":
                        print(event["text"], end="", flush=True)
                    elif event.get("type") == "error":
                        print(f"\n[error] {event['message']}", end="")
            print()


if __name__ == "__main__":
    main()
