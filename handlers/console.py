"""The offline console transport: the real Application and handlers, with the terminal as chat.

`ConsoleRequest` is a `telegram.request.BaseRequest` that answers the Bot API locally. Lines
typed at the terminal become message updates from the owner (getUpdates); every message the
bot would send is printed as plain text, with its inline buttons numbered so that typing the
number presses the button. Charts are written as PNG files and their path printed; the folder
they are in is removed when the bot stops. The end of the input (Ctrl-D) stops the bot as Ctrl-C
does. Nothing goes over the network, so the demo runs with no token and no internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram.request import BaseRequest, RequestData

from engine.settings import Settings
from handlers.auth import DEMO_CHAT_ID, DEMO_USER_ID, owner_chat_id
from handlers.format import strip_tags

Output = Callable[[str], None]
_BOT_USER = {"id": 1, "is_bot": True, "first_name": "tradepilot", "username": "tradepilot_bot"}
_OWNER = {"id": DEMO_USER_ID, "is_bot": False, "first_name": "owner"}
BANNER = ("Offline console: the bot's messages appear here. Type a command such as /status, "
          "/profit, /forceexit 1 or /help; type a button's number to press it. Ctrl-C or "
          "Ctrl-D quits.")
INPUT_CLOSED = "Input closed (Ctrl-D): stopping."


def write_stdout(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class ConsoleRequest(BaseRequest):
    """Serves both `request` and `get_updates_request` of one Application.

    `input_queue` and `output` are the seams for tests; by default lines come from stdin
    (read in a daemon thread) and text goes to stdout. None in the queue is the end of the
    input, on which `stop` is called: the Application's `stop_running`. Charts go to
    `photo_dir`, or to a temporary folder of this request's, removed at its shutdown.
    """

    def __init__(self, input_queue: asyncio.Queue[str | None] | None = None,
                 output: Output | None = None, *, stop: Callable[[], None],
                 chat_id: int = DEMO_CHAT_ID, user_id: int = DEMO_USER_ID,
                 photo_dir: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._read_stdin = input_queue is None
        self._queue: asyncio.Queue[str | None] = input_queue or asyncio.Queue()
        self._output = output or write_stdout
        self._stop = stop
        self._chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        self._user = {**_OWNER, "id": user_id}
        self._photo_dir = photo_dir
        self._own_photo_dir: tempfile.TemporaryDirectory[str] | None = None
        self._clock = clock
        self._next_id = 0
        self._buttons: list[tuple[dict[str, Any], str]] = []
        self._started = False

    @classmethod
    def for_terminal(cls, settings: Settings, stop: Callable[[], None]) -> ConsoleRequest:
        """Reads stdin and prints to stdout, speaking as the owner (the first authorized user)."""
        users = settings.telegram.authorized_users
        return cls(stop=stop, chat_id=owner_chat_id(settings),
                   user_id=users[0] if users else DEMO_USER_ID)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        if self._started:
            return
        self._started = True
        self._output(BANNER)
        if self._read_stdin:
            start_stdin_reader(self._queue, asyncio.get_running_loop())

    async def shutdown(self) -> None:
        """The charts go with the bot; the stdin thread is a daemon. Called twice: this
        object is both of the Bot's requests."""
        if self._own_photo_dir is not None:
            self._own_photo_dir.cleanup()
            self._own_photo_dir = self._photo_dir = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1].lower()
        params = dict(request_data.parameters) if request_data else {}
        result = await self._answer(endpoint, params, request_data)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def _answer(self, endpoint: str, params: dict[str, Any],
                      data: RequestData | None) -> Any:
        if endpoint == "getme":
            return _BOT_USER
        if endpoint == "getupdates":
            return await self._updates(float(params.get("timeout", 0) or 0))
        if endpoint == "sendmessage":
            return self._show(str(params.get("text", "")), params.get("reply_markup"))
        if endpoint == "editmessagetext":
            return self._show(str(params.get("text", "")), params.get("reply_markup"),
                              edited=int(params.get("message_id", 0)))
        if endpoint == "sendphoto":
            return self._photo(params, data)
        if endpoint == "answercallbackquery" and params.get("text"):
            self._output(str(params["text"]))
        return [] if endpoint.startswith("get") else True

    # --- bot -> terminal --------------------------------------------------------------------

    def _message(self, text: str, markup: Any = None, message_id: int | None = None,
                 sender: dict[str, Any] | None = None) -> dict[str, Any]:
        if message_id is None:
            self._next_id += 1
            message_id = self._next_id
        message = {"message_id": message_id, "date": self._now(), "chat": self._chat,
                   "from": sender or _BOT_USER, "text": text}
        if markup:
            message["reply_markup"] = markup
        return message

    def _show(self, text: str, markup: Any, edited: int | None = None) -> dict[str, Any]:
        message = self._message(text, markup, edited)
        header = f"(message {edited} updated)\n" if edited else ""
        self._output(f"{header}{strip_tags(text)}{self._keyboard_lines(message, markup)}")
        return message

    def _keyboard_lines(self, message: dict[str, Any], markup: Any) -> str:
        rows = (markup or {}).get("inline_keyboard") if isinstance(markup, dict) else None
        if not rows:
            return ""
        self._buttons = [(message, b["callback_data"]) for row in rows for b in row
                         if "callback_data" in b]
        labels = [b["text"] for row in rows for b in row if "callback_data" in b]
        return "\n" + "  ".join(f"[{i}] {label}" for i, label in enumerate(labels, start=1))

    def _photo(self, params: dict[str, Any], data: RequestData | None) -> dict[str, Any]:
        message = self._message(str(params.get("caption", "")))
        if self._photo_dir is None:
            self._own_photo_dir = tempfile.TemporaryDirectory(prefix="tradepilot-charts-")
            self._photo_dir = Path(self._own_photo_dir.name)
        path = self._photo_dir / f"chart-{message['message_id']}.png"
        for _name, (_filename, content, _mime) in (data.multipart_data if data else {}).items():
            if isinstance(content, bytes):
                path.write_bytes(content)
        self._output(f"[picture saved to {path}] {strip_tags(message['text'])}")
        message["photo"] = [{"file_id": path.name, "file_unique_id": path.name,
                             "width": 800, "height": 600}]
        return message

    # --- terminal -> bot --------------------------------------------------------------------

    async def _updates(self, wait: float) -> list[dict[str, Any]]:
        """Long polling: wait up to `wait` seconds for one typed line."""
        try:
            async with asyncio.timeout(wait):
                line = await self._queue.get()
        except TimeoutError:
            return []
        if line is None:
            self._output(INPUT_CLOSED)
            self._stop()
            return []
        update = self._update_from(line.strip())
        return [update] if update else []

    def _update_from(self, line: str) -> dict[str, Any] | None:
        if not line:
            return None
        self._next_id += 1
        if line.isdigit() and 1 <= int(line) <= len(self._buttons):
            message, data = self._buttons[int(line) - 1]
            query = {"id": str(self._next_id), "from": self._user, "chat_instance": "console",
                     "data": data, "message": message}
            return {"update_id": self._next_id, "callback_query": query}
        text = line if line.startswith("/") else f"/{line}"
        command = text.split()[0]
        message = self._message(text, message_id=self._next_id, sender=self._user)
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": self._next_id, "message": message}

    def _now(self) -> int:
        return int(self._clock())


def start_stdin_reader(queue: asyncio.Queue[str | None], loop: asyncio.AbstractEventLoop,
                       stream: Any = None) -> threading.Thread:
    """Feed lines typed at the terminal into `queue` from a daemon thread, then None when the
    input ends."""
    source = stream or sys.stdin

    def pump() -> None:
        for line in itertools.chain(source, [None]):
            with contextlib.suppress(RuntimeError):  # the loop closed: the bot is stopping
                loop.call_soon_threadsafe(queue.put_nowait, line)

    thread = threading.Thread(target=pump, name="console-stdin", daemon=True)
    thread.start()
    return thread
