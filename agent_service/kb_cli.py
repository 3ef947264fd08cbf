"""`agent-service kb ...`: manage knowledge bases from the shell: in-process (no server
needed), or with `--url` through a running service (no embedding model to load)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from agent_service.config import get_settings
from agent_service.errors import ServiceError
from agent_service.knowledge.models import FileResult
from agent_service.knowledge.service import KnowledgeBaseService

if TYPE_CHECKING:
    from agent_service.kb_remote import RemoteKnowledgeBases

BAR_WIDTH = 30


def add_commands(commands: argparse._SubParsersAction) -> None:
    kb = commands.add_parser("kb", help="manage knowledge bases")
    kb.add_argument(
        "--url",
        help="a running service to do it (its embedding model is loaded already); default: in this process",
    )
    kb.add_argument("--api-key", help="sent as Authorization: Bearer (with --url)")
    actions = kb.add_subparsers(dest="kb_command", required=True)

    create = actions.add_parser("create", help="create a knowledge base")
    create.add_argument("name")
    create.add_argument("--description", default="")

    add = actions.add_parser("add", help="upload and index files (or every file in a folder)")
    add.add_argument("name")
    add.add_argument("paths", nargs="+", type=Path)
    add.add_argument("--override", action="store_true", help="index content that is already there again")
    add.add_argument("--chunk-size", type=int, default=None)
    add.add_argument("--chunk-overlap", type=int, default=None)

    actions.add_parser("list", help="list knowledge bases, or the files of one").add_argument("name", nargs="?")

    search = actions.add_parser("search", help="hybrid search; prints chunks with their relevance (0..1)")
    search.add_argument("name")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=3)

    actions.add_parser("reindex", help="rebuild the indexes from the files in content/").add_argument("name")
    actions.add_parser("delete", help="delete a knowledge base with its files").add_argument("name")
    kb.set_defaults(run=run)


def progress_bar(done: int, total: int, current: str) -> None:
    filled = BAR_WIDTH * done // max(total, 1)
    print(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {current[:40]:<40}", end="", file=sys.stderr)
    if done == total:
        print(file=sys.stderr)


def print_results(results: list[FileResult]) -> None:
    for result in results:
        detail = f"{result.chunk_count} chunks" if result.status == "indexed" else result.reason
        print(f"{result.status:>8}  {result.name}  ({detail})")


def _files(paths: list[Path]) -> list[tuple[str, bytes]]:
    found: list[Path] = []
    for path in paths:
        found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(path.name, path.read_bytes()) for path in found]


def run(args: argparse.Namespace) -> None:
    with _knowledge_bases(args) as knowledge:
        try:
            _run(knowledge, args)
        except ServiceError as exc:
            sys.exit(f"error: {exc}")


@contextmanager
def _knowledge_bases(args: argparse.Namespace) -> Iterator[KnowledgeBaseService | RemoteKnowledgeBases]:
    """A running service's (`--url`), or this process's own."""
    if args.url:
        from agent_service.kb_remote import RemoteKnowledgeBases

        remote = RemoteKnowledgeBases(args.url, args.api_key)
        try:
            yield remote
        finally:
            remote.close()
        return
    from agent_service.services import Services

    services = Services.start(get_settings())
    try:
        yield services.knowledge
    finally:
        services.close()


def _run(knowledge: KnowledgeBaseService | RemoteKnowledgeBases, args: argparse.Namespace) -> None:
    match args.kb_command:
        case "create":
            kb = knowledge.create(name=args.name, description=args.description)
            print(f"created {kb.name} (embeddings: {kb.embedding_model})")
        case "add":
            chunking = {
                key: value
                for key, value in (("chunk_size", args.chunk_size), ("chunk_overlap", args.chunk_overlap))
                if value is not None
            }
            results = knowledge.add_files(
                name=args.name, files=_files(args.paths), override=args.override, progress=progress_bar, **chunking
            )
            print_results(results)
        case "list" if args.name:
            for file in knowledge.list_files(name=args.name):
                print(f"{file.status:>8}  {file.name}  {file.size} bytes  {file.chunk_count} chunks")
        case "list":
            for kb in knowledge.list():
                print(f"{kb.name}  {kb.file_count} files  {kb.chunk_count} chunks  {kb.description}")
        case "search":
            hits = knowledge.search(name=args.name, query=args.query, top_k=args.top_k)
            for hit in hits:
                print(f"{hit.score:.3f}  {hit.file}#{hit.chunk_index}  {' '.join(hit.text.split())[:200]}")
            if not hits:
                print(f"no chunk of {args.name} is relevant enough to {args.query!r}")
        case "reindex":
            print_results(knowledge.reindex(name=args.name, progress=progress_bar))
        case "delete":
            knowledge.delete(name=args.name)
            print(f"deleted {args.name}")
