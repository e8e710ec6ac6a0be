"""``python -m mws_gateway`` runs the ``mws-gateway`` command line."""

from ._cli import main

main()
