"""Evaluation, long-run and benchmark tools (``python -m tools.<name>``): they use the whole stack
and ship in no package; nothing imports them."""
