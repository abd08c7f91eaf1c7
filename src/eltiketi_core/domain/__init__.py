"""Entities, value objects and domain events: plain data plus the rules that need no I/O."""
