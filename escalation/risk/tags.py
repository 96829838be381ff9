"""The risk levels and tags (docs/formats.md) and their Chinese names: a light module the
emergency plan and the digests read without loading the scorer."""

from __future__ import annotations

LEVELS = ("none", "low", "medium", "high")

TAGS = (
    "media-exposure",
    "escalation-threat",
    "mass-complaint",
    "funds-safety",
    "fraud-cheating",
    "system-failure",
    "privacy-leak",
    "safety-extreme",
    "merchant-violation",
)

# What supervisors read: the tags in Chinese.
TAG_NAMES = {
    "media-exposure": "媒体曝光",
    "escalation-threat": "投诉升级",
    "mass-complaint": "群体投诉",
    "funds-safety": "资金安全",
    "fraud-cheating": "作弊套利",
    "system-failure": "系统故障",
    "privacy-leak": "信息泄露",
    "safety-extreme": "人身安全",
    "merchant-violation": "商户违规",
}
LEVEL_NAMES = {"none": "无", "low": "低", "medium": "中", "high": "高"}
