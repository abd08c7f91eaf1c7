"""Contact checks with the well-kept libraries: ``email-validator`` and ``phonenumbers``.

Install with the ``contact`` extra (the ``app`` extra includes it).
"""

from eltiketi_adapters.contact.normaliser import StrictContactNormaliser

__all__ = ["StrictContactNormaliser"]
