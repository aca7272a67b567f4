"""A browserless Streamlit client: one app session over `/_stcore/stream`, in Streamlit's protobuf protocol.

What the browser does, and no more (Streamlit 1.67): connect with the subprotocol "streamlit"
(no XSRF token: the server only checks one to read auth cookies); send a `rerun_script` BackMsg
with the page's URL name first and the page's script hash after that, the widget states, the
fragment id when a widget inside a fragment changed, and the hashes of the big messages it keeps;
read ForwardMsgs until that run's `script_finished`. A message the client already holds comes
back as a `ref_hash`, and the cache ages out like the browser's ForwardMessageCache.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Delta_pb2 import Delta
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

MAX_MESSAGES_PER_RUN = 10_000  # a bound on one run's reading loop


@dataclass
class Run:
    """One script (or fragment) run as the server sent it: its deltas in order, and how it ended."""

    run_id: str = ""
    status: int | None = None
    deltas: list[Delta] = field(default_factory=list)

    def elements(self, kind: str) -> list:
        """The new elements of one kind (`"markdown"`, `"bidi_component"`, …), in order."""
        return [getattr(delta.new_element, kind) for delta in self.deltas
                if delta.WhichOneof("type") == "new_element" and delta.new_element.WhichOneof("type") == kind]

    def element_with_key(self, kind: str, key: str) -> tuple[str, str]:
        """(element id, fragment id) of the element of this kind whose id ends with the user key."""
        for delta in self.deltas:
            if delta.WhichOneof("type") == "new_element" and delta.new_element.WhichOneof("type") == kind:
                element_id = getattr(delta.new_element, kind).id
                if element_id.endswith(f"-{key}"):
                    return element_id, delta.fragment_id
        raise LookupError(f"no {kind} with key {key!r} in this run")

    def exceptions(self) -> list[str]:
        return [f"{item.type}: {item.message}" for item in self.elements("exception")]


def json_state(widget_id: str, value: object) -> WidgetState:
    return WidgetState(id=widget_id, json_value=json.dumps(value))


def trigger(widget_id: str) -> WidgetState:
    """A button press: a trigger is true for the one run it is sent with."""
    return WidgetState(id=widget_id, trigger_value=True)


class Session:
    """One browser tab's worth of app session; runs are sent one at a time."""

    def __init__(self, socket, page_name: str) -> None:
        self._socket = socket
        self._page_name = page_name
        self._page_hash = ""
        self._max_age = 2  # until new_session says otherwise
        self._runs_seen = 0
        self.refs_resolved = 0  # messages the server sent as a reference to this cache
        # hash -> [serialized message, run count when last used, fragment id]: the browser's cache.
        self._cache: dict[str, list] = {}

    @classmethod
    async def open(cls, base_url: str, page_name: str) -> Session:
        url = base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        socket = await websockets.connect(url, subprotocols=["streamlit"], max_size=None,
                                          ping_interval=None, open_timeout=60)
        return cls(socket, page_name)

    async def close(self) -> None:
        await self._socket.close()

    async def rerun(self, widgets: list[WidgetState], fragment_id: str = "", timeout_s: float = 30) -> Run:
        """Send one rerun request and read the messages until its run has finished."""
        back = BackMsg()
        state = back.rerun_script
        state.widget_states.widgets.extend(widgets)
        if self._page_hash:
            state.page_script_hash = self._page_hash
        else:
            state.page_name = self._page_name
        state.fragment_id = fragment_id
        state.cached_message_hashes.extend(self._cache)
        await self._socket.send(back.SerializeToString())
        return await asyncio.wait_for(self._read_run(), timeout_s)

    async def _read_run(self) -> Run:
        run = Run()
        for _ in range(MAX_MESSAGES_PER_RUN):
            message = self._resolve(await self._socket.recv())
            kind = message.WhichOneof("type")
            if kind == "new_session":
                # The run starts here; anything before it belonged to an earlier run.
                run = Run(run_id=message.metadata.run.script_run_id)
                self._page_hash = message.new_session.page_script_hash
                self._max_age = message.new_session.config.max_cached_message_age
            elif kind == "delta":
                run.deltas.append(message.delta)
            elif kind == "script_finished":
                if message.metadata.run.script_run_id != run.run_id:
                    raise ProtocolError(f"script_finished of run {message.metadata.run.script_run_id!r} "
                                        f"while waiting for {run.run_id!r}")
                run.status = message.script_finished
                if run.status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    self._age_cache(list(message.metadata.run.fragment_ids))
                return run
        raise ProtocolError(f"no script_finished after {MAX_MESSAGES_PER_RUN} messages")

    def _resolve(self, payload: bytes) -> ForwardMsg:
        """Parse a ForwardMsg; keep it if cacheable, or swap a reference for the message it names."""
        message = ForwardMsg()
        message.ParseFromString(payload)
        if message.WhichOneof("type") == "ref_hash":
            entry = self._cache.get(message.ref_hash)
            if entry is None:
                raise ProtocolError(f"cache miss for ref_hash {message.ref_hash}")
            entry[1] = self._runs_seen
            self.refs_resolved += 1
            cached = ForwardMsg()
            cached.ParseFromString(entry[0])
            cached.metadata.CopyFrom(message.metadata)
            return cached
        if message.metadata.cacheable and message.hash:
            entry = self._cache.setdefault(message.hash, [payload, 0, message.delta.fragment_id])
            entry[1] = self._runs_seen
        return message

    def _age_cache(self, fragment_ids: list[str]) -> None:
        """After a run: drop messages unused for more than max age runs (a fragment run ages its own)."""
        self._runs_seen += 1
        for key, (_, last_used, fragment) in list(self._cache.items()):
            if fragment_ids and fragment not in fragment_ids:
                continue
            if self._runs_seen - last_used > self._max_age:
                del self._cache[key]


class ProtocolError(RuntimeError):
    """The server's messages did not follow the protocol this client expects."""
