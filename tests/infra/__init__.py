"""Self-starting real components for the test suite (Kafka, OIDC, Stripe, SMTP).

Fixtures live in :mod:`tests.infra.fixtures`; each component module also offers a context
manager (``start_*``) usable outside pytest. See ``tests/infra/README.md``.
"""
