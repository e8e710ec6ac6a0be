"""The ``mws-gateway`` console script: the command line of the Rust binary."""

from __future__ import annotations

import signal
import sys

from . import _native


def main() -> None:
    # As in the Rust binary: `serve` handles SIGINT itself (draining requests in
    # flight, then returning) and before that SIGINT ends the process. Python's
    # own handler would raise KeyboardInterrupt over the clean exit instead.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.run_cli(sys.argv))


if __name__ == "__main__":
    main()
