"""Knowledge bases found on disk: a folder under the KB root with a `content/`
folder but no database row (the shipped `samples`, or one copied in by hand)
is registered and indexed, in the background, when the service starts.
Keyword indexes made by an older version are brought up to date first."""

from __future__ import annotations

import logging
import threading

from agent_service.errors import ServiceError
from agent_service.knowledge.service import KnowledgeBaseService

logger = logging.getLogger(__name__)
DESCRIPTION_FILE = "description.txt"


def index_bases_found_on_disk(knowledge: KnowledgeBaseService) -> list[str]:
    """Register and index every unregistered base folder; returns their names."""
    if not knowledge.kb_root.is_dir():
        return []
    known = {kb.name for kb in knowledge.list()}
    found = []
    for folder in sorted(knowledge.kb_root.iterdir()):
        if folder.name in known or not (folder / "content").is_dir():
            continue
        description_file = folder / DESCRIPTION_FILE
        description = description_file.read_text("utf-8").strip() if description_file.is_file() else ""
        try:
            knowledge.create(name=folder.name, description=description)
            results = knowledge.reindex(name=folder.name)
        except ServiceError as exc:
            logger.warning("knowledge base folder %s not indexed: %s", folder.name, exc)
            continue
        indexed = sum(result.status == "indexed" for result in results)
        logger.info("indexed knowledge base %s found on disk: %d of %d files", folder.name, indexed, len(results))
        found.append(folder.name)
    return found


def _prepare_bases(knowledge: KnowledgeBaseService) -> None:
    knowledge.upgrade_keyword_indexes()
    index_bases_found_on_disk(knowledge)


def start_indexing_bases_found_on_disk(knowledge: KnowledgeBaseService) -> threading.Thread:
    thread = threading.Thread(target=_prepare_bases, args=(knowledge,), name="kb-discovery", daemon=True)
    thread.start()
    return thread
