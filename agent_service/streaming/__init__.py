"""Typed stream events and their SSE framing."""
