"""Text to keyword-index terms, the same way for chunks and for queries.

- Chinese runs are segmented by jieba: search mode when indexing, so both
  "知识库" and "知识" match; precise mode for queries.
- Everything else becomes lower-cased words that keep inner `-`, `_` and `.`,
  so codes such as `E-7731`, `gpt-4o` or `v1.2` match whole. Such compound
  names, and camelCase ones, are also indexed as their parts:
  `web.WSMsgType.TEXT` gives `web.wsmsgtype.text`, `web`, `wsmsgtype`, `ws`,
  `msg`, `type` and `text`; a search for `WSMsgType`, `msg type` or
  `refresh_buffer_seconds` then finds it.
- No stemming: the vector half already finds other forms of a word, and
  stemming mangles the exact names people search for.

Queries drop their function words ("what", "the", "的"), unless nothing else is left.
"""

from __future__ import annotations

import logging
import re

import jieba

jieba.setLogLevel(logging.WARNING)

# Han ideographs: the characters that carry no spaces between words.
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKENS = re.compile(rf"[{CJK_CHARS}]+|[^\W_{CJK_CHARS}]+(?:[-_.][^\W_{CJK_CHARS}]+)*")
_CJK_RUN = re.compile(rf"[{CJK_CHARS}]+")
_SEPARATORS = re.compile(r"[-_.]")
# camelCase humps: "WSMsgType" -> WS, Msg, Type; "getHTTP2Response" -> get, HTTP, 2, Response.
_HUMPS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^\W\d_a-zA-Z]+")
MIN_PART_LENGTH = 2  # "e" of "E-7731" matches everything: left out

# Query-side only, so a query made of nothing else still searches them.
STOP_WORDS = frozenset(
    """a about all also an and any are as at be been being both but by can could did do does for from had has
    have he her here him his how i if in into is it its just may me might more most must my no not of on only
    or other our own same she should so some such than that the their them then there these they this those
    to too under very was we were what when where which who whom whose why will with would you your
    的 了 是 在 和 与 及 或 有 我 你 他 她 它 我们 你们 他们 这 那 这个 那个 吗 呢 吧 啊 呀 什么 怎么 怎样 如何 为什么
    哪 哪些 哪个 请 也 就 都 而 被 把 给 对 从 到 中 上 下 一个 一下""".split()
)


def name_parts(token: str) -> list[str]:
    """The parts of a compound or camelCase name, lower-cased: each piece between
    `-`, `_` and `.`, and each hump of a camelCase piece; empty for a plain word."""
    pieces = _SEPARATORS.split(token)
    parts: list[str] = []
    for piece in pieces:
        humps = _HUMPS.findall(piece)
        parts.extend(([piece] if len(pieces) > 1 else []) + (humps if len(humps) > 1 else []))
    return [part.lower() for part in parts if len(part) >= MIN_PART_LENGTH]


def segment(text: str, *, for_query: bool = False) -> list[str]:
    """The terms of `text`, in order, as they are indexed (or searched, `for_query`)."""
    terms: list[str] = []
    for token in _TOKENS.findall(text):
        if _CJK_RUN.match(token):
            words = jieba.lcut(token) if for_query else jieba.lcut_for_search(token)
            terms.extend(word for word in words if word.strip())
        else:
            terms.append(token.lower())
            terms.extend(name_parts(token))
    return terms


def query_terms(query: str) -> list[str]:
    """The distinct terms a search for `query` looks for, in order."""
    terms = list(dict.fromkeys(segment(query, for_query=True)))
    return [term for term in terms if term not in STOP_WORDS] or terms
