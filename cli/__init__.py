"""The ``askdocs`` command: the composition root. It imports the packages; they never import it."""
