"""agent-service: a self-hosted LangChain agent service."""

__version__ = "0.1.0"
