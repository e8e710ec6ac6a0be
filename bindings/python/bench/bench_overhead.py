"""In-process call overhead of mws_gateway next to LiteLLM's, measured in the same run.

    python3 bindings/python/bench/bench_overhead.py [--seconds 0.5] [--rounds 7]

Both sides answer without network: `Gateway.chat_completions` on the built-in echo
upstream (parse, validate, route, answer, render, JSON back to a dict) and
`litellm.completion(model="gpt-3.5-turbo", messages=..., mock_response="hi")`;
then the asyncio pair, `AsyncGateway.chat_completions` and `litellm.acompletion`.
Rounds alternate between the two so drift hits both alike; each figure is the
median over rounds of the mean time per call. The target: mws_gateway at least
20 times faster per call than LiteLLM.

Run with any python3: the script makes its own venv (MWS_BENCH_VENV, default
~/.cache/mws-gateway/bench-venv) with litellm and a release build of this
package (`pip install ./bindings/python`, reusing CARGO_TARGET_DIR), then runs
itself there. Neither the test venv nor the test command is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "bindings" / "python"
VENV = Path(os.environ.get("MWS_BENCH_VENV", Path.home() / ".cache/mws-gateway/bench-venv"))
# Pinned to a release from before the 2026 supply-chain compromises of the
# litellm package; maturin as in bindings/python/requirements-dev.txt.
LITELLM = "litellm==1.81.13"
MATURIN = "maturin==1.16.0"
TARGET = 20.0
MESSAGES = [{"role": "user", "content": "Hello, how are you today?"}]


def in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def setup_and_rerun() -> None:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    stamp = VENV / ".litellm"
    if not stamp.exists() or stamp.read_text() != LITELLM:
        print(f"installing {LITELLM} into {VENV}", flush=True)
        subprocess.run([*pip, LITELLM, MATURIN], check=True)
        stamp.write_text(LITELLM)
    print("building mws-gateway (release) into the bench venv", flush=True)
    env = dict(os.environ, PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(
        [*pip, "--no-build-isolation", "--force-reinstall", "--no-deps", str(PACKAGE)],
        check=True,
        env=env,
    )
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def per_call_us(call: Callable[[], Any], seconds: float) -> float:
    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(10):
            call()
        calls += 10
        now = time.perf_counter()
        if now >= deadline:
            return (now - started) / calls * 1e6


def per_call_us_async(call: Callable[[], Awaitable[Any]], seconds: float) -> float:
    async def measure() -> float:
        calls = 0
        started = time.perf_counter()
        deadline = started + seconds
        while True:
            for _ in range(10):
                await call()
            calls += 10
            now = time.perf_counter()
            if now >= deadline:
                return (now - started) / calls * 1e6

    return asyncio.run(measure())


def measure(args: argparse.Namespace) -> int:
    # LiteLLM would otherwise fetch its model price map from the network at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    import mws_gateway

    # LiteLLM's mock responses trip pydantic serializer warnings; they are not ours.
    warnings.filterwarnings("ignore", category=UserWarning, module="pydantic")

    litellm.suppress_debug_info = True
    gw = mws_gateway.Gateway()
    agw = mws_gateway.AsyncGateway()
    request: Dict[str, Any] = {"model": "gpt-3.5-turbo", "messages": MESSAGES}

    def ours() -> Any:
        return gw.chat_completions(request)

    def theirs() -> Any:
        return litellm.completion(model="gpt-3.5-turbo", messages=MESSAGES, mock_response="hi")

    async def ours_async() -> Any:
        return await agw.chat_completions(request)

    async def theirs_async() -> Any:
        return await litellm.acompletion(
            model="gpt-3.5-turbo", messages=MESSAGES, mock_response="hi"
        )

    # Both answer, and answer what we think.
    assert ours()["choices"][0]["message"]["content"] == MESSAGES[0]["content"]
    assert theirs().choices[0].message.content == "hi"
    for _ in range(2):  # warm up
        per_call_us(ours, 0.2)
        per_call_us(theirs, 0.2)
        per_call_us_async(ours_async, 0.2)
        per_call_us_async(theirs_async, 0.2)

    results: Dict[str, List[float]] = {k: [] for k in ("ours", "theirs", "ours_a", "theirs_a")}
    for _ in range(args.rounds):
        results["ours"].append(per_call_us(ours, args.seconds))
        results["theirs"].append(per_call_us(theirs, args.seconds))
        results["ours_a"].append(per_call_us_async(ours_async, args.seconds))
        results["theirs_a"].append(per_call_us_async(theirs_async, args.seconds))
    med = {k: statistics.median(v) for k, v in results.items()}

    print(
        f"\nin-process call overhead, no network (median of {args.rounds} rounds of "
        f"{args.seconds} s; mws-gateway {mws_gateway.__version__}, litellm {litellm_version()}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores)\n"
    )
    print(f"{'call':<58} {'us/call':>10}")
    rows = [
        ("mws_gateway Gateway.chat_completions (echo upstream)", med["ours"]),
        ('litellm.completion(mock_response="hi")', med["theirs"]),
        ("mws_gateway AsyncGateway.chat_completions (echo upstream)", med["ours_a"]),
        ('litellm.acompletion(mock_response="hi")', med["theirs_a"]),
    ]
    for name, us in rows:
        print(f"{name:<58} {us:>10.1f}")
    ratio, ratio_async = med["theirs"] / med["ours"], med["theirs_a"] / med["ours_a"]
    print(f"\nsync:  mws_gateway is {ratio:.1f}x faster per call (target >= {TARGET:.0f}x)")
    print(f"async: mws_gateway is {ratio_async:.1f}x faster per call")
    if ratio < TARGET:
        print("below target", file=sys.stderr)
        return 1
    return 0


def litellm_version() -> str:
    from importlib.metadata import version

    return version("litellm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per call")
    args = parser.parse_args()
    if not in_bench_venv():
        setup_and_rerun()
    sys.exit(measure(args))


if __name__ == "__main__":
    main()
