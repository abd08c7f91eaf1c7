"""Embedded-mode-only helpers: the dev token endpoint and the fake payment page."""
