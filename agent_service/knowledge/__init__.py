"""Knowledge bases: uploaded files, split into chunks, searched by meaning and by keyword.

`service.KnowledgeBaseService` is the entry point. Inside: `names` (safe names
and paths), `models` and `crud` (tables), `loaders`, `decoding` and `splitter`
(files to chunks), `embeddings`, `vector_store` and `keyword_index` (the two
indexes), `ingest` (writing files so database and indexes agree), `fusion`
(hybrid ranking and what scores mean).
"""
