"""Taking down a complaint: type, category, description, optional details, then a ticket."""

from __future__ import annotations

import re
from dataclasses import replace

from escalation.tickets.rules import DEFAULT_CATEGORIES, TICKET_TYPES
from handlers import texts
from handlers.types import FlowState, Reply, Step, TicketEffect
from knowledge.masking import find_mobile, mask_pii

_ORDER = re.compile(r"(?<![0-9A-Za-z*])([0-9A-Za-z-]{8,40})(?![0-9A-Za-z*])")
# What mask_pii left of a number, with the country or area code typed before it:
# +86 138****5678, (0755)****5678, 110105********002X. Never a merchant's name.
_MASKED = re.compile(
    r"(?:\(?\+?(?:00)?86\)?[ \-.]?(?:\(?0?\d{2,3}\)?[ \-.]?)?|\(?0\d{2,3}\)?[ \-.]?)?"
    r"[\dXx]*\*{3,}[\dXx]*"
)
_LABELS = re.compile(
    r"(订单号|订单|商户名称|商户|商家|店名|联系电话|电话|手机号|手机|座机|固话|"
    r"银行卡号|银行卡|卡号|身份证号码|身份证号|身份证)[:：]?"
)
MIN_DESCRIPTION = 6
# A message that reads like a complaint: the bot offers to register one instead of
# opening it silently. Words of grievance in this domain, not questions about the rules.
_GRIEVANCE = re.compile(
    r"投诉|举报|维权|曝光|12345|市监|消协|"
    r"(?:不让|不给|拒绝|拒收|不肯|不能)(?:用|使用|核销)|"
    r"(?:骗|坑|欺诈|套路|乱收费|多扣|扣错|少退|不退|拖着不)|"
    r"(?:太差|态度差|恶劣|离谱|过分|气死|凭什么)"
)
_JUST_ASKING = re.compile(r"(怎么|如何|哪里|在哪|是否|可以|能不能|吗[？?]?$).{0,6}(投诉|举报)")


def reads_like_complaint(text: str) -> bool:
    """Return whether a message complains about something (not just asks how to)."""
    if _JUST_ASKING.search(text):
        return False
    return bool(_GRIEVANCE.search(text))


TYPE_CHOICES = (*TICKET_TYPES, texts.CHOICE_CANCEL)
CATEGORY_CHOICES = (*DEFAULT_CATEGORIES, texts.CHOICE_CANCEL)
DETAIL_CHOICES = (texts.CHOICE_SKIP, texts.CHOICE_CANCEL)


def start(lead: str = texts.INTAKE_START) -> list[Reply]:
    """Return the opening replies of an intake (the state is set by `begin`)."""
    return [Reply(lead), Reply(texts.ASK_TICKET_TYPE, TYPE_CHOICES)]


def begin(state: FlowState, description: str | None = None) -> FlowState:
    """Start an intake; `description` (masked) is what the person already said happened,
    shown to them for confirmation instead of asking for it again."""
    data: tuple[tuple[str, str], ...] = (("step", "type"),)
    if description is not None and len(description.strip()) >= MIN_DESCRIPTION:
        data += (("description", description.strip()[:2000]),)
    return replace(state, intake=data, offered=(), last_entry=None, draft=None)


def _ask_description(data: dict[str, str]) -> Reply:
    said = data.get("description")
    if said:
        return Reply(
            texts.CONFIRM_DESCRIPTION.format(description=said),
            (texts.CHOICE_KEEP_DESCRIPTION, texts.CHOICE_CANCEL),
        )
    return Reply(texts.ASK_DESCRIPTION)


def parse_details(text: str) -> tuple[str | None, str | None, str | None]:
    """Return (order number, merchant name, phone) from one free-text message.

    The phone is the first mobile number, as 11 digits. The order number and the
    merchant's name are read from the masked text, so neither ever carries an ID,
    bank card or phone number.
    """
    phone = find_mobile(text)
    rest = mask_pii(text)
    order_match = _ORDER.search(rest)
    order = order_match.group(1) if order_match else None
    if order_match:
        rest = rest.replace(order_match.group(0), " ")
    rest = _MASKED.sub(" ", rest)
    leftover = re.sub(r"[\s,，;；、。]+", " ", _LABELS.sub(" ", rest)).strip()
    return order, (leftover[:128] or None), phone


def advance(text: str, state: FlowState) -> Step:
    """Take one answer of an intake in progress."""
    if text in (texts.CHOICE_CANCEL, "/cancel"):
        return Step([Reply(texts.INTAKE_CANCELLED)], replace(state, intake=()), kind="intake")
    data = dict(state.intake)
    step = data.get("step")
    if step == "type":
        if text not in TICKET_TYPES:
            return Step([Reply(texts.PICK_FROM_CHOICES, TYPE_CHOICES)], state, kind="intake")
        data |= {"step": "category", "type": text}
        reply = Reply(texts.ASK_TICKET_CATEGORY, CATEGORY_CHOICES)
    elif step == "category":
        if text not in DEFAULT_CATEGORIES:
            return Step([Reply(texts.PICK_FROM_CHOICES, CATEGORY_CHOICES)], state, kind="intake")
        data |= {"step": "description", "category": text}
        reply = _ask_description(data)
    elif step == "description" and text == texts.CHOICE_KEEP_DESCRIPTION and "description" in data:
        data |= {"step": "details"}
        reply = Reply(texts.ASK_DETAILS, DETAIL_CHOICES)
    elif step == "description":
        if len(text.strip()) < MIN_DESCRIPTION:
            return Step([Reply(texts.DESCRIPTION_TOO_SHORT)], state, kind="intake")
        # Masked now: the state is stored, and an abandoned complaint would keep it.
        data |= {"step": "details", "description": mask_pii(text.strip())[:2000]}
        reply = Reply(texts.ASK_DETAILS, DETAIL_CHOICES)
    else:
        order, merchant, phone = (None, None, None)
        if text != texts.CHOICE_SKIP:
            order, merchant, phone = parse_details(text)
        effect = TicketEffect(
            data.get("type", texts.INTAKE_DEFAULT_TYPE),
            data.get("category", texts.INTAKE_DEFAULT_CATEGORY),
            data.get("description", ""),
            order,
            merchant,
            phone,
        )
        return Step(
            [Reply(texts.TICKET_OPENED)],
            replace(state, intake=()),
            kind="intake",
            effects=[effect],
        )
    return Step([reply], replace(state, intake=tuple(data.items())), kind="intake")
