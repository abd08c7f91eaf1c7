"""elTiketi core: the ticketing domain, its ports and its use cases.

Nothing in this package performs I/O or imports a framework. Adapters
(``eltiketi_adapters``) implement the ports in :mod:`eltiketi_core.ports`;
the app (``eltiketi_app``) wires them to the use cases in
:mod:`eltiketi_core.usecases`.
"""
