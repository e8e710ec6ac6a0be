"""A faulty upstream for the fault suite (test_faults.py): raw HTTP/1.1 over
asyncio sockets on 127.0.0.1:0, speaking both the OpenAI and the Anthropic API,
so it can misbehave in ways a well-behaved server library would not allow.

Run as `python faulty_upstream.py`; it prints `listening on 127.0.0.1:PORT`.
Each request names its fault and a tag in its prompt (`FAULT=<name> TAG=<tag>`),
so concurrent requests each get their own, and every good answer carries the
tag back (a client can tell its answer from another's). Faults:

- `ok`: a proper answer, streamed or not;
- `slow`: a long stream, a frame every 30 ms (for clients that hang up);
- `hang_headers`: never answers; `hang_body`: headers, then nothing;
- `hang_mid`: part of the answer, then nothing;
- `reset_mid`: part of the answer, then a TCP reset;
- `bad_json`: a 200 whose JSON does not parse; `bad_sse_first`: a stream whose
  first frame is not JSON; `bad_sse_mid`: one good frame, then garbage;
- `err500`: a 500, every time.

Keep-alive connections idle for a second are closed, as servers do, so a
client's pool empties once the load stops. `GET /_faults/stats` reports calls
per tag and API (`t12/openai`) and which tags' connections the client dropped
while the fault held them (the upstream call was cancelled).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
from collections import Counter

IDLE_CLOSE_S = 1.0
# How long a hanging fault waits for the client to give up before it stops.
HANG_LIMIT_S = 60.0
SLOW_FRAMES = 100
SLOW_DELAY_S = 0.03
MARK = re.compile(rb"FAULT=(\w+) TAG=(\w+)")

calls: Counter[str] = Counter()
gone: set[str] = set()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def head(status: int, content_type: str, length: int | None = None) -> bytes:
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n{framing}\r\n\r\n".encode()
    )


def json_answer(status: int, body: bytes) -> bytes:
    return head(status, "application/json", len(body)) + body


def openai_body(tag: str) -> dict:
    return {
        "id": "chatcmpl-f", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": f"ok {tag}"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23},
    }


def anthropic_body(tag: str) -> dict:
    return {
        "id": "msg_f", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": f"ok {tag}"}], "stop_reason": "end_turn",
        "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 3},
    }


def openai_frames(texts: list[str]) -> tuple[list[bytes], list[bytes]]:
    """(the frames carrying the text, the frames that end the stream)."""
    def c(delta: dict, finish: str | None = None) -> bytes:
        body = {"id": "chatcmpl-f", "object": "chat.completion.chunk", "created": 0, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(body).encode() + b"\n\n"
    start = [c({"role": "assistant", "content": ""})] + [c({"content": t}) for t in texts]
    usage = {"id": "chatcmpl-f", "object": "chat.completion.chunk", "created": 0, "model": "m",
             "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 3}}
    end = [c({}, "stop"), b"data: " + json.dumps(usage).encode() + b"\n\n", b"data: [DONE]\n\n"]
    return start, end


def anthropic_frames(texts: list[str]) -> tuple[list[bytes], list[bytes]]:
    def e(body: dict) -> bytes:
        return f"event: {body['type']}\ndata: {json.dumps(body)}\n\n".encode()
    start = [
        e({"type": "message_start", "message": {
            "id": "msg_f", "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 20, "output_tokens": 1}}}),
        e({"type": "content_block_start", "index": 0,
           "content_block": {"type": "text", "text": ""}}),
    ] + [e({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}})
         for t in texts]
    end = [
        e({"type": "content_block_stop", "index": 0}),
        e({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
           "usage": {"output_tokens": 3}}),
        e({"type": "message_stop"}),
    ]
    return start, end


async def read_request(reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
    """(path, body) of the next request; None when the connection ends."""
    try:
        header = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_CLOSE_S)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = header.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    pairs = (line.partition(":") for line in lines[1:] if line)
    fields = {k.strip().lower(): v.strip() for k, _, v in pairs}
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
    else:
        body = b""
    return path, body


async def until_gone(reader: asyncio.StreamReader, tag: str) -> None:
    """Holds the connection until the client drops it, then notes the tag."""
    try:
        data = await asyncio.wait_for(reader.read(1), HANG_LIMIT_S)
    except (asyncio.TimeoutError, ConnectionError):
        return
    if not data:
        gone.add(tag)


def reset(writer: asyncio.StreamWriter) -> None:
    """Closes with a TCP reset instead of a clean close."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def answer(path: str, body: bytes, reader, writer) -> bool:
    """Answers one request; False when the connection must not be reused."""
    if path == "/_faults/stats":
        stats = {"calls": dict(calls), "gone": sorted(gone)}
        writer.write(json_answer(200, json.dumps(stats).encode()))
        return True
    mark = MARK.search(body)
    fault, tag = (mark.group(1).decode(), mark.group(2).decode()) if mark else ("ok", "none")
    anthropic = path.endswith("/messages")
    calls[f"{tag}/{'anthropic' if anthropic else 'openai'}"] += 1
    stream = json.loads(body or b"{}").get("stream") is True
    if fault == "err500":
        # Quoting the prompt, as real upstreams' errors do: it must not reach a log.
        quoted = body[max(0, mark.start() - 60): mark.start()].decode(errors="replace")
        error = {"error": {"message": f"upstream exploded on {quoted}", "type": "server_error"}}
        writer.write(json_answer(500, json.dumps(error).encode()))
        return True
    if fault == "hang_headers":
        await until_gone(reader, tag)
        return False
    if not stream:
        whole = json.dumps(anthropic_body(tag) if anthropic else openai_body(tag)).encode()
        if fault == "bad_json":
            writer.write(json_answer(200, b'{"id": "chatcmpl-f", "choices": [oops'))
            return True
        if fault == "hang_body":
            writer.write(head(200, "application/json", len(whole)))
        elif fault in ("hang_mid", "reset_mid"):
            writer.write(head(200, "application/json", len(whole)) + whole[: len(whole) // 2])
        else:
            writer.write(json_answer(200, whole))
            return True
        await writer.drain()
        if fault == "reset_mid":
            reset(writer)
        else:
            await until_gone(reader, tag)
        return False
    frames = anthropic_frames if anthropic else openai_frames
    texts = [f"w{i} " for i in range(SLOW_FRAMES)] if fault == "slow" else ["ok ", tag]
    if fault in ("hang_mid", "reset_mid", "bad_sse_mid"):
        texts = ["partial ", tag]
    start, end = frames(texts)
    writer.write(head(200, "text/event-stream"))
    if fault == "hang_body":
        await writer.drain()
        await until_gone(reader, tag)
        return False
    if fault == "bad_sse_first":
        garbage = chunk(b"data: {this is not json\n\n") + chunk(b"data: [DONE]\n\n")
        writer.write(garbage + b"0\r\n\r\n")
        return True
    if fault == "slow":
        watcher = asyncio.ensure_future(until_gone(reader, tag))
        try:
            for frame in start:
                writer.write(chunk(frame))
                await writer.drain()
                await asyncio.sleep(SLOW_DELAY_S)
                if watcher.done():
                    return False
        except ConnectionError:
            gone.add(tag)
            return False
        finally:
            watcher.cancel()
        start = []
    for frame in start:
        writer.write(chunk(frame))
    await writer.drain()
    if fault == "hang_mid":
        await until_gone(reader, tag)
        return False
    if fault == "reset_mid":
        await asyncio.sleep(0.05)  # let the frames reach the client before the reset
        reset(writer)
        return False
    if fault == "bad_sse_mid":
        end = [b'data: {"choices": [\n\n'] + end
    for frame in end:
        writer.write(chunk(frame))
    writer.write(b"0\r\n\r\n")
    return True


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (request := await read_request(reader)) is not None:
            if not await answer(*request, reader, writer):
                break
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        if not writer.transport.is_closing():
            writer.close()


async def main() -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
