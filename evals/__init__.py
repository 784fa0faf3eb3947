"""Evaluation commands (``askdocs eval ...``): measure retrieval and answers on SQuAD-format data sets."""
