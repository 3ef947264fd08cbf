"""What a knowledge-base answer says when the search found nothing relevant.

No model is asked: told to say that the documents do not cover a question, a
small model answers it anyway from what it believes it knows. The sentence is
in the question's language: told by its script, else by its commonest words.
"""

from __future__ import annotations

import re

NOT_COVERED = {
    "en": "The documents in this knowledge base do not cover this question, so I cannot answer it from them.",
    "zh": "知识库中的文档没有涉及这个问题，因此无法根据文档回答。",
    "ja": "このナレッジベースの文書はこの質問を扱っていないため、文書に基づいて回答できません。",
    "ko": "이 지식 베이스의 문서는 이 질문을 다루지 않으므로 문서를 바탕으로 답할 수 없습니다.",
    "ru": "Документы этой базы знаний не касаются этого вопроса, поэтому ответить на него по ним нельзя.",
    "fr": "Les documents de cette base de connaissances ne traitent pas de cette question : "
    "je ne peux donc pas y répondre à partir d'eux.",
    "es": "Los documentos de esta base de conocimiento no tratan esta pregunta, "
    "así que no puedo responderla a partir de ellos.",
    "de": "Die Dokumente dieser Wissensdatenbank behandeln diese Frage nicht, "
    "daher kann ich sie nicht anhand der Dokumente beantworten.",
    "pt": "Os documentos desta base de conhecimento não tratam desta pergunta, "
    "por isso não posso respondê-la a partir deles.",
    "it": "I documenti di questa knowledge base non trattano questa domanda, "
    "quindi non posso rispondere basandomi su di essi.",
}

_SCRIPTS = [  # checked in order: kana before Han, since Japanese writes both
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
]
_COMMON_WORDS = {
    "en": set("the what who which how is are was does do of in to and a an my our when where why".split()),
    "fr": set("le la les quel quelle quels qui est sont que de du des et un une mon comment où pourquoi".split()),
    "es": set("el la los las qué quién cuál cómo es son de del y un una mi dónde cuándo por".split()),
    "de": set("der die das wer was welche wie ist sind und ein eine mein wo wann warum nicht".split()),
    "pt": set("o a os as quem qual como é são de do da e um uma meu onde quando por não".split()),
    "it": set("il lo la gli le chi quale come è sono di del e un una mio dove quando perché non".split()),
}


def language_of(text: str) -> str:
    for language, script in _SCRIPTS:
        if script.search(text):
            return language
    words = re.findall(r"[^\W\d_]+", text.lower())
    scores = {language: sum(word in common for word in words) for language, common in _COMMON_WORDS.items()}
    best = max(scores, key=lambda language: scores[language])
    return best if scores[best] > scores["en"] else "en"


def not_covered(question: str) -> str:
    """The answer to `question` when the knowledge base holds nothing relevant to it."""
    return NOT_COVERED[language_of(question)]
