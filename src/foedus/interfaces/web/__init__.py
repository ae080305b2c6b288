"""The web app (``foedus serve``): FastAPI JSON API under ``/api/`` and one
plain-JavaScript page. Importing this package does no work; see
:func:`foedus.interfaces.web.app.create_app`."""
