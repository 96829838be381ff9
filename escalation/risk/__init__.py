"""Sentiment risk (舆情) on every message: level, score and tags (docs/formats.md)."""

from escalation.risk.evaluate import Labelled, RiskFileError, evaluate, measure, read_labelled
from escalation.risk.scorer import (
    RiskResult,
    RiskScorer,
    load_scorer,
    score,
)
from escalation.risk.tags import LEVEL_NAMES, LEVELS, TAG_NAMES, TAGS

__all__ = [
    "LEVELS",
    "LEVEL_NAMES",
    "TAGS",
    "TAG_NAMES",
    "Labelled",
    "RiskFileError",
    "RiskResult",
    "RiskScorer",
    "evaluate",
    "load_scorer",
    "measure",
    "read_labelled",
    "score",
]
