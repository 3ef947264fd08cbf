"""Which pieces of an agent's streamed text are its answer, read as its parser reads them.

`tool_calling` models write only their answer as text. A text ReAct step is
reasoning up to its final-answer label and the answer after it, the label read
by the ReAct parser itself (`react_parser.final_answer_end`: `Final Answer:`,
`最终答案：`, in bold, numbered); a label can arrive split over tokens, so a
label's length of text is held back until it is known not to start one.
GLM3's answer only becomes known at the end. Renderers that keep the answer
apart from the reasoning (OpenAI's `content` and `reasoning_content`) send the
pieces as they are marked.
"""

from __future__ import annotations

from typing import Literal

from agent_service.agents.react_parser import LONGEST_LABEL, final_answer_end

Part = Literal["answer", "reasoning"]


class AnswerMarks:
    """Feed an agent's text as it streams; get it back as (`answer` | `reasoning`, text) pieces."""

    def __init__(self, style: str | None) -> None:
        self.style = style
        self.step: int | None = None
        self.pending = ""  # react: the step's text not yet marked, a possible start of the label
        self.answering = False  # react: the label has been seen in this step
        self.answer_sent = ""

    def feed(self, text: str, step: int | None) -> list[tuple[Part, str]]:
        if self.style == "tool_calling":
            self.answer_sent += text
            return [("answer", text)]
        if self.style != "react":
            return [("reasoning", text)]
        out = self.flush() if step != self.step else []
        self.step = step
        if self.answering:
            text = text if self.answer_sent else text.lstrip()
            self.answer_sent += text
            return [*out, ("answer", text)]
        self.pending += text
        # A label is settled once text follows it: a closing `**` may still be on its way.
        if (end := final_answer_end(self.pending)) is not None and self.pending[end:].strip(" \t*_"):
            reasoning, answer = self.pending[:end].rstrip(" \t"), self.pending[end:]
            self.pending, self.answering = "", True
            self.answer_sent += answer.lstrip()
            return [*out, ("reasoning", reasoning), ("answer", answer.lstrip())]
        keep = LONGEST_LABEL
        ready, self.pending = self.pending[:-keep], self.pending[-keep:]
        return [*out, ("reasoning", ready)]

    def flush(self) -> list[tuple[Part, str]]:
        """The step is over (a tool is called, or a new step starts): what was held back is reasoning."""
        flushed, self.pending, self.answering = self.pending, "", False
        return [("reasoning", flushed)]

    def finish(self, final_answer: str) -> list[tuple[Part, str]]:
        """At the end: held-back reasoning, and the answer if it has not streamed already."""
        out = self.flush()
        sent, final = self.answer_sent.strip(), final_answer.strip()
        if final and not sent.endswith(final):
            out.append(("answer", ("\n\n" if sent else "") + final))
        return out
