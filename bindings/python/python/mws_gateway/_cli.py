"""The ``mws-gateway`` console script: the command line of the Rust binary."""

from __future__ import annotations

import signal
import sys

from . import _native


def main() -> None:
    # `serve` stops on SIGINT/SIGTERM itself (draining requests in flight) and
    # returns; Python's SIGINT handler would then raise KeyboardInterrupt over a
    # clean exit, so Python leaves the signal to the runtime.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(_native.run_cli(sys.argv))


if __name__ == "__main__":
    main()
