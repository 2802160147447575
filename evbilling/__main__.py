"""`python -m evbilling` is the `evbilling` command."""

from evbilling.cli import main

main()
