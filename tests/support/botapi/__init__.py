"""An in-process emulator of the Telegram Bot API, for end-to-end tests.

The emulator is an aiohttp server bound to 127.0.0.1 on a random free port. The REAL
python-telegram-bot ``Application`` (or a bare ``telegram.Bot``) talks to it over HTTP by
pointing ``base_url`` at :attr:`BotApiEmulator.base_url`; tests play the users' side through
chat handles::

    async with running_emulator(token="123456:TEST") as emu:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
        ...
        chat = emu.private_chat(user_id=5512, first_name="小明")
        await chat.send("/start")
        reply = await chat.next_reply(timeout=5.0)
        assert reply.buttons == ["有帮助", "没帮助"]
        await chat.press("有帮助")

The emulator is deliberately strict, like the real server, so that tests catch bugs that a
lenient fake would hide: parameters arrive as strings (form encoding) and are coerced the way
the Bot API does; texts are trimmed, parsed (HTML / MarkdownV2 / Markdown) and length-checked;
keyboards are validated; errors use the real descriptions and HTTP status codes; editing a
message without ``reply_markup`` removes its inline keyboard; in groups, privacy mode hides
ordinary messages from the bot unless it is an administrator.

Everything stays on the loopback interface: webhooks are only delivered to loopback hosts and
URLs given to ``sendPhoto``/``sendDocument`` are never fetched.

The package, one idea a module: ``server`` (the app, its route, the shared state and what
tests ask of it), ``chats`` (the users' side), ``updates`` (long polling and webhooks),
``messages`` and ``profile`` (the bot's methods), ``files``, ``params`` (decoding and the
shared checks), ``entities`` and ``parse_modes`` (text formatting), ``models`` (the records)
and ``errors``. Its own tests are the ``test_*.py`` files beside them.
"""

from tests.support.botapi.chats import ChatHandle, GroupHandle
from tests.support.botapi.errors import ApiError
from tests.support.botapi.files import make_png
from tests.support.botapi.models import (
    BotMessage,
    CallbackQueryHandle,
    FailedCall,
    TelegramUser,
    UserMessage,
    WebhookFailure,
)
from tests.support.botapi.params import UploadedFile
from tests.support.botapi.server import BotApiEmulator, running_emulator

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
