"""The wire protocols the service speaks, one package each: request models, and the
renderer that turns the canonical events (`streaming.events`) into the protocol's shape."""
