"""`python -m plughub.cli`."""

from plughub.cli import main

main()
