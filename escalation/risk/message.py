"""One normalised message as the risk rules read it: its clauses, which of them ask, and
the hits the rules have found in it so far."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from escalation.risk.lexicon import Lexicon
from escalation.risk.numbers import largest_sum, longest_days

_CLAUSE_SPLIT = re.compile(r"[,.!?;:~…\n]+|\s{2,}")
# A clause asks when it ends with a question mark, a question particle or an interrogative,
# or opens with 请问 / 想问; an interrogative inside a statement (我就带几个人去) does not.
_QUESTION_END = re.compile(
    r"(?:吗|么|没有|不|啥|多少|几[点号天张次个时岁]?|哪里|哪儿|哪个|哪些|哪家|什么|什么时候|"
    r"怎么办|怎么弄|怎么用|怎么领|怎么样|怎么操作|如何|谁|多久|几时|是否)[啊呀呢吧哈]*$|呢$"
)
QUESTION_START = re.compile(r"^(?:请问|想问|咨询|想了解|问下|问一下|我想问|麻烦问)")


@dataclass(slots=True)
class Hit:
    tag: str
    start: int
    end: int
    severity: int


@dataclass(slots=True)
class Message:
    text: str
    unasked: str  # the text with 有没有 / 能不能 / 是不是 blanked out, positions kept
    clauses: list[tuple[int, int]]
    questions: list[bool]
    asking: bool  # some clause asks, and not rhetorically (凭什么, 合理吗)
    hits: list[Hit] = field(default_factory=list)
    # Read once per message, when a rule first needs them.
    _days: float | None = None
    _amount: float | None = None
    severity: dict[str, int] = field(default_factory=dict)  # per rule family, once read

    @property
    def days(self) -> float:
        """The longest span of time the message names, in days."""
        if self._days is None:
            self._days = longest_days(self.text)
        return self._days

    @property
    def amount(self) -> float:
        """The largest sum of money the message names, in yuan."""
        if self._amount is None:
            self._amount = largest_sum(self.text)
        return self._amount

    def clause_of(self, pos: int) -> int:
        for i, (a, b) in enumerate(self.clauses):
            if a <= pos < b:
                return i
        return len(self.clauses) - 1

    def clause_text(self, i: int) -> str:
        a, b = self.clauses[i]
        return self.text[a:b]


def parse_message(text: str, lx: Lexicon) -> Message:
    """Split normalised text into clauses and note which of them ask."""
    clauses: list[tuple[int, int]] = []
    questions: list[bool] = []
    pos = 0
    for m in [*list(_CLAUSE_SPLIT.finditer(text)), None]:
        end = m.start() if m else len(text)
        nxt = m.end() if m else len(text)
        if end > pos:
            body = text[pos:end].strip()
            mark = m.group(0) if m else ""
            clauses.append((pos, end))
            questions.append(
                "?" in mark
                or bool(_QUESTION_END.search(body))
                or bool(QUESTION_START.search(body))
            )
        pos = nxt
    if not clauses:
        clauses, questions = [(0, len(text))], [False]
    asking = any(questions) and not lx.rhetorical.search(text)
    # 有没有 / 能不能 / 是不是 blanked out, positions kept.
    unasked = lx.asking_forms.sub(lambda m: "？" * len(m.group(0)), text)
    return Message(text, unasked, clauses, questions, asking)
