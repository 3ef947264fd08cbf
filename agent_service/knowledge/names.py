"""Names that become paths, and where each knowledge base and file lives on disk.

Every name a request gives that becomes a path component (a knowledge base,
a file, a prompt template) passes `validate_path_component` first: anything
that could climb out of its folder, hide in it or break the file system call
is refused before a path is built: separators, `.`/`..`, NUL and other
control characters, and leading or trailing spaces (an easy way to make two
names that look the same).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from agent_service.knowledge.errors import InvalidNameError

KB_NAME_MAX_CHARS = 100
# The names `validate_path_component` accepts, for the OpenAPI schema (a little stricter: no
# leading dot, which keeps "." and ".." out without a look-ahead JSON Schema cannot count on).
NAME_PATTERN = r"^[^\s./\\\x00-\x1f\x7f-\x9f](?:[^/\\\x00-\x1f\x7f-\x9f]*[^\s/\\\x00-\x1f\x7f-\x9f])?$"
# For the schema: what `str.strip()` removes, as the inside of a character class. Spelled
# out, since `\s` differs between regex dialects (ECMA's lacks \x1c-\x1f and \x85, has \ufeff).
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{WHITESPACE}]"  # text with something in it
FILE_NAME_MAX_BYTES = 255  # the usual file-system limit for one path component


def validate_path_component(name: str, what: str) -> str:
    """`name`, if it is safe as one path component; InvalidNameError (a 400) saying why if not."""
    if not isinstance(name, str) or not name or not name.strip():
        raise InvalidNameError(f"{what} name must not be empty")
    if name != name.strip():
        raise InvalidNameError(f"{what} name {name!r} must not start or end with spaces")
    if name in {".", ".."} or "/" in name or "\\" in name:
        raise InvalidNameError(f"{what} name {name!r} must not be a path: no '/', '\\', '.' or '..'")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise InvalidNameError(f"{what} name {name!r} must not contain control characters")
    return name


def validate_kb_name(name: str) -> str:
    validate_path_component(name, "knowledge base")
    if len(name) > KB_NAME_MAX_CHARS:
        raise InvalidNameError(f"knowledge base name is longer than {KB_NAME_MAX_CHARS} characters")
    return name


def validate_file_name(name: str) -> str:
    validate_path_component(name, "file")
    if len(name.encode()) > FILE_NAME_MAX_BYTES:
        raise InvalidNameError(f"file name is longer than {FILE_NAME_MAX_BYTES} bytes")
    return name


@dataclass(frozen=True)
class KnowledgeBasePaths:
    """The folder of one knowledge base: uploaded files, the vector store, the keyword index."""

    root: Path

    @classmethod
    def under(cls, kb_root: Path, name: str) -> KnowledgeBasePaths:
        return cls(_inside(kb_root, validate_kb_name(name)))

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def vector_store(self) -> Path:
        return self.root / "vector_store"

    @property
    def keyword_index(self) -> Path:
        return self.root / "keyword_index.db"

    def file(self, file_name: str) -> Path:
        return _inside(self.content, validate_file_name(file_name))


def _inside(folder: Path, component: str) -> Path:
    # Belt and braces: the checks above already make this impossible.
    path = (folder / component).resolve()
    if path.parent != folder.resolve():
        raise InvalidNameError(f"name {component!r} leaves its folder")
    return path
