"""Knowledge bases: uploaded files, split into chunks, searched by meaning and by keyword.

`service.KnowledgeBaseService` is the entry point. Inside: `names` (safe names
and paths), `models` and `crud` (tables), `loaders`, `decoding` and `splitter`
(files to chunks), `embeddings`, `vector_store` and `keyword_index` (the two
indexes; `keyword_index_pg` in PostgreSQL), `files` (uploaded files), `writers`
(writers' turns), `stores` (each base's stores, embedded or shared), `ingest`
(writing files so database and indexes agree), `search` (batched hybrid
search), `fusion` (hybrid ranking and what scores mean), `repair` (what an
earlier run left, put right at start-up).
"""
