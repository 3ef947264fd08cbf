"""The web chat: a static page (HTML, CSS, ES modules) served by the app at `/`."""
