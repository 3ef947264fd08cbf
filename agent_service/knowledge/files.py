"""Where a knowledge base keeps its uploaded files, byte for byte.

`FileStore` is what the service needs of that place; `DirectoryFileStore` is
the `<kb>/content/` folder under the knowledge-base root, which replicas
share. Names reach a store already validated (`names.validate_file_name`);
the folder checks them again before it builds a path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from agent_service.knowledge.errors import KnowledgeFileNotFoundError
from agent_service.knowledge.names import KnowledgeBasePaths


class FileStore(Protocol):
    """One knowledge base's files."""

    def create(self) -> None:
        """Make room for files; files already there are kept."""

    def write(self, file_name: str, data: bytes) -> None:
        """Store `data` under `file_name`, replacing what was there; readers never see half a file."""

    def read(self, file_name: str) -> bytes: ...

    def delete(self, file_name: str) -> None:
        """Remove the file, if it is there."""

    def names(self) -> list[str]:
        """Every file's name, sorted, as stored: names put there by hand may not be valid."""

    def path(self, file_name: str) -> Path:
        """A local file holding the bytes, for downloads; KnowledgeFileNotFoundError if there is none."""

    def destroy(self) -> None:
        """Remove every file and the place that held them."""


class DirectoryFileStore:
    """The files of one base in `<kb>/content/`. `destroy` removes the whole `<kb>/`
    folder: the embedded indexes beside `content/` are destroyed before it."""

    def __init__(self, paths: KnowledgeBasePaths) -> None:
        self.paths = paths

    def create(self) -> None:
        self.paths.content.mkdir(parents=True, exist_ok=True)

    def write(self, file_name: str, data: bytes) -> None:
        # Written beside content/ and renamed in: a reader never sees half a file.
        target = self.paths.file(file_name)
        self.create()
        handle, temporary = tempfile.mkstemp(dir=self.paths.root, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, file_name: str) -> bytes:
        return self.paths.file(file_name).read_bytes()

    def delete(self, file_name: str) -> None:
        self.paths.file(file_name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        if not self.paths.content.is_dir():
            return []  # removed by hand: it holds no file (reindexing says which rows lost theirs)
        return sorted(path.name for path in self.paths.content.iterdir() if path.is_file())

    def path(self, file_name: str) -> Path:
        path = self.paths.file(file_name)
        if not path.is_file():
            raise KnowledgeFileNotFoundError(f"file {file_name!r} is missing from the knowledge base's folder")
        return path

    def destroy(self) -> None:
        shutil.rmtree(self.paths.root, ignore_errors=True)
