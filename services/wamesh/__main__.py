"""`python -m wamesh` runs the `wamesh` command."""

from wamesh.cli import main

main()
