"""A scripted OpenAI-kind upstream on 127.0.0.1:0 for the tests: each POST takes
the next scripted reply (an error status, a stall, a slow stream) and the server
notes when the gateway hangs up on a stream it was sending."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional


def chunk(content: str, finish: Optional[str] = None) -> Dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }


class Scripted:
    def __init__(self) -> None:
        self.replies: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self.stream_started = threading.Event()
        self.disconnected = threading.Event()
        self.chunks_sent = 0
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                scripted.serve(self, scripted.replies.get_nowait())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def config(self, first_byte_timeout_secs: float = 5.0) -> str:
        return f"""
[store]
kind = "memory"

[[upstreams]]
name = "scripted"
kind = "openai"
base_url = "{self.base_url}"
max_retries = 0
first_byte_timeout_secs = {first_byte_timeout_secs}

[[profiles]]
id = "scripted"
upstream = "scripted"
upstream_model = "m"
context_window = 100000
tokens_per_second = 100
input_price_per_mtok = 1.0
output_price_per_mtok = 2.0

[routing]
default_profile = "scripted"
aliases = {{}}
"""

    def error(self, status: int, message: str, param: Optional[str] = None) -> None:
        body = {"error": {"message": message, "type": "scripted", "param": param}}
        self.replies.put({"status": status, "body": body})

    def stall(self, seconds: float) -> None:
        self.replies.put({"stall": seconds})

    def slow_stream(self, chunks: int, interval: float) -> None:
        self.replies.put({"stream": chunks, "interval": interval})

    def serve(self, handler: BaseHTTPRequestHandler, reply: Dict[str, Any]) -> None:
        if "stall" in reply:
            time.sleep(reply["stall"])
            return
        if "status" in reply:
            data = json.dumps(reply["body"]).encode()
            handler.send_response(reply["status"])
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.end_headers()
        self.stream_started.set()
        try:
            for i in range(reply["stream"]):
                handler.wfile.write(f"data: {json.dumps(chunk(f'piece {i} '))}\n\n".encode())
                handler.wfile.flush()
                self.chunks_sent += 1
                time.sleep(reply["interval"])
            handler.wfile.write(
                f"data: {json.dumps(chunk('', 'stop'))}\n\ndata: [DONE]\n\n".encode()
            )
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.disconnected.set()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
