"""Agent building blocks: output parsers for text-based (ReAct, ChatGLM3) tool calling."""
