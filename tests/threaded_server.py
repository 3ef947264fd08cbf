"""An ASGI app served by uvicorn on 127.0.0.1 in a thread of its own: the test doubles
(fake upstreams, MCP servers) and the app itself where the network path matters."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    def __init__(self, app: Any, *, lifespan: str = "off", log_level: str = "critical") -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level=log_level, lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        """Serve, and return the base URL once the server listens."""
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self, timeout: float = 5) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=timeout)
