"""The web pages: the ask page at ``/`` and the admin pages under ``/admin``, served by the same FastAPI app.

A page is an HTML shell that holds no data (a browser cannot send an API key when it navigates); its script
fetches everything through endpoints that check the caller as the API does: the ask page through the JSON API
itself (``/ask/stream``, ``/feedback``, ``/me``), an admin page through its ``/admin/<page>/part`` fragment,
rendered on the server from what the JSON endpoints return. Scripts and styles are files of this package, served
at ``/static``: nothing is fetched from anywhere else.
"""
