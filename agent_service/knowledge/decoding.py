"""Bytes of an uploaded text file to str, whatever encoding a user's editor chose.

Order: a byte-order mark (UTF-8, UTF-32, UTF-16) decides; then strict UTF-8;
then GB18030, the superset of GBK and GB2312 that Chinese Windows editors
write. Each step is strict, so a file that is none of these is refused rather
than read as mojibake.
"""

from __future__ import annotations

import codecs

from agent_service.knowledge.errors import LoaderError

# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """The text of `data`; LoaderError when it is not text in a supported encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(data, encoding)
    for encoding in ("utf-8", "gb18030"):
        try:
            return _checked(data, encoding)
        except LoaderError:
            continue
    raise LoaderError("not text in UTF-8, UTF-16, UTF-32 or GBK/GB18030")


def _checked(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LoaderError(f"not valid {encoding} text: {exc.reason} at byte {exc.start}") from exc
    # Binary files often decode by chance; real text has no NUL.
    if "\x00" in text:
        raise LoaderError("binary data, not text")
    return text
