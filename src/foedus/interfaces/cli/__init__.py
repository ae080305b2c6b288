"""The ``foedus`` command line (Typer + Rich)."""
