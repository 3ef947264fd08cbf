"""OpenAI's chat completions: the request (`requests`) and the chunks and completion an
answer's events become (`chunks`). The routes are `api.openai_chat`."""
