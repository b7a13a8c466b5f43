"""Maintainers' tools run by `make` (not shipped): they may import the project, never
``tests``, which imports them."""
