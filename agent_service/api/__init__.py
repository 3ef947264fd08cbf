"""The HTTP API: one router per module, assembled in `app.py`."""
