"""`python -m baton` is the `baton` command."""

from baton.webhooks.cli import main

main(prog_name="baton")
