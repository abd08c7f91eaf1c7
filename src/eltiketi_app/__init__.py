"""elTiketi's REST service: the Litestar app (:func:`eltiketi_app.app.create_app`), its dishka
wiring, the ``ELTIKETI_*`` settings, the background loops of an embedded process and the
``eltiketi`` command line."""
