"""What the emulator's own tests share: the bot token and a feedback keyboard."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

TOKEN = "123456:TEST"
FEEDBACK = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("有帮助", callback_data="fb:yes"),
            InlineKeyboardButton("没帮助", callback_data="fb:no"),
        ],
        [InlineKeyboardButton("政策原文", url="https://example.gov.cn/policy")],
    ]
)
