"""The risk lexicons (escalation/risk/data/lexicon.yaml), compiled once into patterns."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

import yaml


def _alt(items: Iterable[str]) -> str:
    return "(?:" + "|".join(sorted(items, key=len, reverse=True)) + ")"


class Lexicon:
    """The compiled lexicons."""

    def __init__(self, data: Mapping[str, list[str]]) -> None:
        def rx(*names: str) -> re.Pattern[str]:
            return re.compile(_alt(w for n in names for w in data[n]))

        self.money = rx("money")
        self.media_terms = rx("media_terms")
        self.media_platforms = rx("media_platforms")
        self.media_publish = rx("media_publish")
        self.media_shopping = rx("media_shopping")
        self.institutions = rx("institutions")
        self.escalate_verbs = rx("escalate_verbs")
        self.escalate_terms = rx("escalate_terms")
        self.mass_organise = rx("mass_organise")
        self.mass_many = rx("mass_many")
        self.funds_stolen = rx("funds_stolen")
        self.funds_wrong = rx("funds_wrong")
        self.funds_late = rx("funds_late")
        self.fraud_terms = rx("fraud_terms")
        self.fraud_suspect = rx("fraud_suspect")
        self.system_terms = rx("system_terms")
        self.system_weak = rx("system_weak")
        self.system_nouns = rx("system_nouns")
        self.system_business = rx("system_business")
        self.system_wide = rx("system_wide")
        self.privacy_terms = rx("privacy_terms")
        self.privacy_nouns = rx("privacy_nouns")
        self.safety_terms = rx("safety_terms")
        self.merchant_actor = rx("merchant_actor")
        self.merchant_terms = rx("merchant_terms")
        # What a merchant is reported to have said: 店家说不收券, 4S店说补贴不能在他们家用.
        self.merchant_said = re.compile(
            _alt(data["merchant_actor"]) + r"[^,.!?]{0,4}(?:说|讲|告诉我|表示|称)[^.!?]{0,12}"
            r"(?:用不了|不能.{0,6}用|不给.{0,4}用|不收|不参加|没参加|不让用|要另外|先付全款|先全款|"
            r"不给办|不给补|不能补|是假的|不认)"
        )
        self.anger_strong = rx("anger_strong")
        self.anger_mild = rx("anger_mild")
        self.negative_emoji = rx("negative_emoji")
        self.contrast = rx("contrast")
        self.intensifiers = rx("intensifiers")
        self.rhetorical = rx("rhetorical")
        self.negated_outcome = rx("negated_outcome")
        self.asking_forms = rx("asking_forms")
        self.resolved = rx("resolved")
        self.thanks = rx("thanks")
        self.hearsay = rx("hearsay")
        self.hypothetical = rx("hypothetical")
        self.advice = rx("advice")
        self.information = rx("information")
        negs = _alt(data["negations"])
        # A negation just before the hit, with at most a few characters between and no
        # conditional (不…就 is a threat, not a denial).
        self.negated_before = re.compile(negs + r"(?:(?!就|才|否则|不然|的话).){0,3}$")
        self.conditional = re.compile(
            r"再不|要是不|如果不|不[^,.!?;]{0,8}(?:就(?!是)|的话)|否则|不然"
        )
        self.strict_hypothetical = re.compile(r"如果|假如|万一|要是|假设|若是")


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Return the bundled lexicons, compiled."""
    raw = resources.files("escalation.risk").joinpath("data/lexicon.yaml").read_text("utf-8")
    return Lexicon(yaml.safe_load(raw))
