"""An in-process emulator of the Telegram Bot API, for end-to-end tests (see server.py)."""

from tests.support.botapi.server import (
    ApiError,
    BotApiEmulator,
    BotMessage,
    CallbackQueryHandle,
    ChatHandle,
    FailedCall,
    GroupHandle,
    TelegramUser,
    UploadedFile,
    UserMessage,
    WebhookFailure,
    make_png,
    running_emulator,
)

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "BotMessage",
    "CallbackQueryHandle",
    "ChatHandle",
    "FailedCall",
    "GroupHandle",
    "TelegramUser",
    "UploadedFile",
    "UserMessage",
    "WebhookFailure",
    "make_png",
    "running_emulator",
]
