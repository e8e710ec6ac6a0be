"""The load of the fault suite (test_faults.py): many concurrent clients of both
API shapes, streamed and not, some through the official SDKs, some hanging up
mid-stream, each request asking faulty_upstream.py for one fault, and the check
of what each one got against what that fault must give.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

import anthropic
import httpx
import openai

from conftest import Account

# Every prompt carries this, so a log scan can look for prompt text.
PROMPT_MARK = "zebra-quartz-" + "".join(random.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(12))

# (fault, weight) for streamed and for whole answers.
STREAM_FAULTS = [
    ("ok", 30), ("slow", 8), ("hang_headers", 4), ("hang_body", 4), ("hang_mid", 5),
    ("reset_mid", 5), ("bad_sse_first", 5), ("bad_sse_mid", 5), ("err500", 5), ("connect", 3),
]
WHOLE_FAULTS = [
    ("ok", 30), ("hang_headers", 4), ("hang_body", 4), ("hang_mid", 4), ("reset_mid", 5),
    ("bad_json", 5), ("err500", 5), ("connect", 3),
]
# What a fault gives when it breaks the call before the stream began.
STATUS = {
    "hang_headers": 504, "hang_body": 504, "connect": 504, "bad_json": 502,
    "bad_sse_first": 502, "err500": 502,
}
# Whole answers cut halfway: a status too.
WHOLE_STATUS = STATUS | {"hang_mid": 504, "reset_mid": 502}
# Streams that began and then failed: an error event at the end.
BROKEN_STREAM = {"hang_mid", "reset_mid", "bad_sse_mid"}
# Faults that hold the upstream connection until the gateway hangs up.
HELD = {"hang_headers", "hang_body", "hang_mid", "slow"}
# err500 goes to a profile with a fallback: 1 + max_retries tries on each of
# its two upstreams, an OpenAI-kind one and then an Anthropic-kind one.
ERR500_TRIES = 2


@dataclass
class Request:
    n: int
    shape: str  # "anthropic" or "openai"
    stream: bool
    fault: str
    sdk: bool
    account: Account

    @property
    def tag(self) -> str:
        return f"t{self.n}"

    @property
    def model(self) -> str:
        if self.fault == "err500":
            return "dragon-flash"  # the openai-kind upstream, then the anthropic-kind one
        if self.fault == "connect":
            return "dragon-blitz"  # an upstream that never accepts the connection
        # The two upstream kinds, translated or passed through.
        return "dragon" if self.n % 2 else "dragon-pro"

    def body(self) -> dict:
        text = f"{PROMPT_MARK} FAULT={self.fault} TAG={self.tag} please answer"
        return {"model": self.model, "max_tokens": 64, "stream": self.stream,
                "messages": [{"role": "user", "content": text}]}


@dataclass
class Outcome:
    request: Request
    started: float
    ended: float
    status: int | None = None
    request_id: str | None = None
    # "complete", "error_status", "broken_stream", "cut" (the client hung up).
    kind: str = ""
    problem: str | None = None
    store_refused: bool = False


# Every (fault, streamed) pair; each worker's first request takes one in turn,
# so all are exercised however few requests the machine manages.
PAIRS = [(f, True) for f, _ in STREAM_FAULTS] + [(f, False) for f, _ in WHOLE_FAULTS]


def pick(rng: random.Random, n: int, accounts: list[Account],
         pair: tuple[str, bool] | None = None) -> Request:
    """A request: `pair`'s fault, or one drawn by the weights."""
    if pair is None:
        stream = rng.random() < 0.5
        faults = STREAM_FAULTS if stream else WHOLE_FAULTS
        pair = (rng.choices([f for f, _ in faults], [w for _, w in faults])[0], stream)
    fault, stream = pair
    return Request(n=n, shape=rng.choice(["anthropic", "openai"]), stream=stream, fault=fault,
                   sdk=fault != "slow" and rng.random() < 0.25, account=rng.choice(accounts))


def error_problem(shape: str, status: int, body: dict, headers: httpx.Headers) -> str | None:
    """What is wrong with an error answer in the ingress shape, if anything."""
    if "request-id" not in headers:
        return "no request-id header"
    if shape == "anthropic":
        want = {503: "overloaded_error"}.get(status, "api_error")
        if body.get("type") != "error" or body.get("error", {}).get("type") != want:
            return f"not an Anthropic {want}: {body}"
    elif body.get("error", {}).get("type") != "server_error":
        return f"not an OpenAI server_error: {body}"
    if status == 503 and headers.get("retry-after") is None:
        return "503 without retry-after"
    return None


def sse_events(text: str) -> list[tuple[str | None, str]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if name is not None or data:
            events.append((name, "\n".join(data)))
    return events


def stream_result(shape: str, text: str) -> tuple[str, str, str | None]:
    """(kind, delivered text, problem) of a whole SSE body."""
    events = sse_events(text)
    if not events:
        return "", "", "empty stream"
    if shape == "anthropic":
        datas = [json.loads(d) for _, d in events]
        if any(n != d.get("type") for (n, _), d in zip(events, datas)):
            return "", "", "event name and type differ"
        delivered = "".join(d["delta"].get("text", "") for d in datas
                            if d["type"] == "content_block_delta")
        last = datas[-1]
        if last["type"] == "message_stop":
            return "complete", delivered, None
        if last["type"] == "error" and last["error"]["type"] == "api_error":
            return "broken_stream", delivered, None
        return "", delivered, f"stream ends with {last}"
    if events[-1][1] != "[DONE]":
        return "", "", "no [DONE] at the end"
    chunks = [json.loads(d) for _, d in events[:-1]]
    delivered = "".join((c.get("choices") or [{}])[0].get("delta", {}).get("content") or ""
                        for c in chunks)
    if chunks and chunks[-1].get("error", {}).get("type") == "server_error":
        return "broken_stream", delivered, None
    if any((c.get("choices") or [{}])[0].get("finish_reason") for c in chunks):
        return "complete", delivered, None
    return "", delivered, "neither finished nor an error chunk"


async def raw_call(client: httpx.AsyncClient, req: Request, out: Outcome) -> None:
    path = "/v1/messages" if req.shape == "anthropic" else "/v1/chat/completions"
    headers = {"anthropic-version": "2023-06-01"} if req.shape == "anthropic" else {}
    headers["authorization"] = f"Bearer {req.account.key}"
    async with client.stream("POST", path, json=req.body(), headers=headers) as r:
        out.status, out.request_id = r.status_code, r.headers.get("request-id")
        if r.status_code != 200:
            body = json.loads(await r.aread())
            out.kind = "error_status"
            out.problem = error_problem(req.shape, r.status_code, body, r.headers)
            out.store_refused = r.status_code == 503 and "store unavailable" in json.dumps(body)
            return
        if req.fault == "slow":
            seen = ""
            async for piece in r.aiter_text():
                seen += piece
                if "w1 " in seen:
                    out.kind = "cut"  # hang up mid-stream
                    return
            out.problem = "the slow stream ended before the client hung up"
            return
        text = (await r.aread()).decode()
    if not req.stream:
        body = json.loads(text)
        answer = (body["content"][0]["text"] if req.shape == "anthropic"
                  else body["choices"][0]["message"]["content"])
        out.kind = "complete"
        if answer != f"ok {req.tag}":
            out.problem = f"someone else's answer: {answer!r}"
        return
    out.kind, delivered, out.problem = stream_result(req.shape, text)
    want = f"ok {req.tag}" if out.kind == "complete" else f"partial {req.tag}"
    if out.problem is None and delivered != want:
        out.problem = f"delivered {delivered!r}, expected {want!r}"


async def sdk_call(clients: dict, req: Request, out: Outcome) -> None:
    """The same through the official SDK: errors raise its exceptions."""
    oai, ant = clients[req.account.key]
    body = req.body()
    stream = body.pop("stream")
    delivered = ""
    try:
        if req.shape == "anthropic":
            if stream:
                async with ant.messages.stream(**body) as s:
                    async for text in s.text_stream:
                        delivered += text
            else:
                delivered = (await ant.messages.create(**body)).content[0].text
        else:
            if stream:
                async for c in await oai.chat.completions.create(**body, stream=True):
                    if c.choices and c.choices[0].delta.content:
                        delivered += c.choices[0].delta.content
            else:
                delivered = (await oai.chat.completions.create(**body)).choices[0].message.content
        out.status, out.kind = 200, "complete"
        if delivered != f"ok {req.tag}":
            out.problem = f"delivered {delivered!r}"
    except (openai.APIStatusError, anthropic.APIStatusError) as e:
        out.status, out.request_id = e.status_code, e.response.headers.get("request-id")
        if e.status_code == 200:  # an error event after the stream began
            out.kind = "broken_stream"
            if delivered != f"partial {req.tag}":
                out.problem = f"delivered {delivered!r} before the error"
            return
        out.kind = "error_status"
        out.problem = error_problem(req.shape, e.status_code, e.response.json(), e.response.headers)
        out.store_refused = e.status_code == 503 and "store unavailable" in e.response.text
    except openai.APIError as e:  # the openai SDK's error chunk
        out.status, out.kind = 200, "broken_stream"
        if delivered != f"partial {req.tag}":
            out.problem = f"delivered {delivered!r} before the error {e}"


def expectation(req: Request) -> tuple[str, int]:
    """(kind, status) the request's fault must give."""
    if req.fault == "slow":
        return "cut", 200
    if req.stream and req.fault in BROKEN_STREAM:
        return "broken_stream", 200
    table = WHOLE_STATUS if not req.stream else STATUS
    if req.fault in table:
        return "error_status", table[req.fault]
    return "complete", 200


@dataclass
class Load:
    """Drives `workers` concurrent clients for `seconds`."""

    url: str
    accounts: list[Account]
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)
    counter: int = 0

    async def run(self, seconds: float, workers: int, n_start: int) -> None:
        self.counter = n_start
        limits = httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers)
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=self.url, timeout=30, limits=limits) as http:
            # The SDKs' own HTTP clients (anthropic's is httpx2), closed below.
            clients = {
                a.key: (
                    openai.AsyncOpenAI(base_url=self.url + "/v1", api_key=a.key, max_retries=0,
                                       timeout=30),
                    anthropic.AsyncAnthropic(base_url=self.url, api_key=a.key, max_retries=0,
                                             timeout=30),
                )
                for a in self.accounts
            }

            async def worker(w: int) -> None:
                rng = random.Random(self.seed * 1000 + w)
                pair: tuple[str, bool] | None = PAIRS[w % len(PAIRS)]
                while time.monotonic() < deadline:
                    self.counter += 1
                    req = pick(rng, self.counter, self.accounts, pair)
                    pair = None
                    out = Outcome(req, started=time.monotonic(), ended=0)
                    try:
                        await (sdk_call(clients, req, out) if req.sdk else raw_call(http, req, out))
                    except Exception as e:  # noqa: BLE001 - any surprise is a finding
                        out.problem = f"{type(e).__name__}: {e}"
                    out.ended = time.monotonic()
                    self.outcomes.append(out)
                    if out.store_refused:
                        await asyncio.sleep(0.1)  # as retry-after asks, roughly

            try:
                await asyncio.gather(*(worker(w) for w in range(workers)))
            finally:
                for oai, ant in clients.values():
                    await oai.close()
                    await ant.close()


def judge(out: Outcome, read_only: tuple[float, float] | None) -> str | None:
    """Why this outcome is not the one its fault must give, or None. A 503
    "store unavailable" is right for requests overlapping `read_only`."""
    req = out.request
    if out.problem:
        return out.problem
    if out.store_refused:
        if read_only and out.ended >= read_only[0] and out.started <= read_only[1]:
            return None
        return "refused as store unavailable outside the read-only window"
    kind, status = expectation(req)
    if (out.kind, out.status) != (kind, status):
        return f"got {out.kind} {out.status}, expected {kind} {status}"
    return None
