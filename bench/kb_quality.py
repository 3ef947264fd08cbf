"""Benchmark: does knowledge-base search find the right source, and say so when there is none?

The set (`bench/kb_quality_set.py`): pydoc text of standard-library modules
and a few Chinese documents found on Debian machines, with paraphrased,
exact-term, Chinese and unanswerable questions; a tuning part and a held-out
part, each in its own base, embedded with the local MiniLM and default chunking.

For each part, on the same chunks:
- hit@1, hit@3 and MRR@5 per kind of question for the service's hybrid search
  (`KnowledgeBaseService.search`, top 5, no threshold), the vector index alone
  and the keyword index (BM25) alone;
- ROC AUC of the top hit's `score`: answerable questions whose top hit is right
  against unanswerable ones;
- at the default `score_threshold`: the share of unanswerable questions that
  find nothing, and of answerable ones whose source is still in the top 3;
- search time per query (p50/p95) on this small base; at 20k chunks,
  `bench/kb_ingest_search.py` measures it.

`--calibrate` also fits the relevance calibration of the configured embedding
model on the tuning part (see `agent_service.knowledge.fusion`) and prints it
as an `AGENT_SERVICE_EMBEDDINGS` `relevance` entry.

Bases are built once into `<temp dir>/agent-service-kb-quality-<hash>/` and reused.
Run: `.venv/bin/python bench/kb_quality.py [--calibrate] [--embeddings JSON] [--chunk-size N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import pydoc
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kb_ingest_search import knowledge_service
from kb_quality_set import DOC_CHARS, HELD_OUT, TUNING, EvalSet, Question

from agent_service.config import RelevanceCalibration
from agent_service.knowledge.fusion import DEFAULT_SCORE_THRESHOLD
from agent_service.knowledge.keyword_index import TERMS_VERSION, KeywordIndex
from agent_service.knowledge.names import KnowledgeBasePaths
from agent_service.knowledge.service import KnowledgeBaseService, SearchRequest
from agent_service.knowledge.splitter import DEFAULT_CHUNK_SIZE
from agent_service.knowledge.vector_store import VectorIndex

TOP = 5
KINDS = ("paraphrase", "keyword", "chinese")
KB = "quality"


# --- documents and bases ----------------------------------------------------------------------------


def documents(evalset: EvalSet) -> list[tuple[str, bytes]]:
    files = []
    for module in evalset.modules:
        text = pydoc.plaintext.document(importlib.import_module(module))
        text = re.sub(r" at 0x[0-9a-f]+", "", text)  # object addresses change from run to run
        files.append((f"{module}.txt", text[:DOC_CHARS].encode()))
    for name, path in evalset.chinese.items():
        if path.is_file():
            files.append((name, path.read_bytes()))
    return files


def answerable(question: Question, files: dict[str, bytes]) -> bool:
    """Whether the question's document is in the base (Chinese ones may be missing); checks the needle."""
    if question.doc is None:
        return True
    if question.doc not in files:
        return False
    if question.needle.lower() not in files[question.doc].decode().lower():
        raise SystemExit(f"needle {question.needle!r} is not in {question.doc}: fix the set")
    return True


def base_dir(files: list[tuple[str, bytes]], embeddings: dict, chunk_size: int) -> Path:
    digest = hashlib.sha256(json.dumps([embeddings, TERMS_VERSION, chunk_size], sort_keys=True).encode())
    for name, data in files:
        digest.update(name.encode() + data)
    return Path(tempfile.gettempdir()) / f"agent-service-kb-quality-{digest.hexdigest()[:16]}"


def build(root: Path, files: list[tuple[str, bytes]], embeddings: dict, chunk_size: int) -> None:
    if (root / "ready").exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    with knowledge_service(root, embeddings) as service:
        service.create(name=KB)
        results = service.add_files(name=KB, files=files, chunk_size=chunk_size)
        failed = [result for result in results if result.status != "indexed"]
        if failed:
            raise SystemExit(f"not indexed: {failed}")
    (root / "ready").write_text("ok")


# --- measures ---------------------------------------------------------------------------------------


def rank_of(question: Question, found: Sequence[tuple[str, str]]) -> int | None:
    """1-based rank of the first right (file, text) among `found`, or None."""
    for rank, (file, text) in enumerate(found, 1):
        if file == question.doc and question.needle.lower() in text.lower():
            return rank
    return None


@dataclass
class Quality:
    hit1: float
    hit3: float
    mrr5: float


def quality(ranks: list[int | None]) -> Quality:
    n = len(ranks) or 1
    return Quality(
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 3 for r in ranks) / n,
        sum(1 / r for r in ranks if r is not None) / n,
    )


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    return sum(pairs) / len(pairs) if pairs else math.nan


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Run:
    """Everything measured on one part of the set."""

    questions: list[Question]
    ranks: dict[str, dict[str, list[int | None]]]  # retriever -> kind -> ranks
    top_scores: list[tuple[Question, float, bool]]  # (question, top score, top hit right) with hits
    found_nothing: list[Question]  # at the default threshold
    in_top3: list[Question]  # answerable, source in the top 3 without a threshold
    kept_in_top3: list[Question]  # of those, source still in the top 3 at the default threshold
    features: list[tuple[Question, list[tuple[float, float, bool]]]]  # per question: (cosine, coverage, right)
    times: list[float]


def measure(service: KnowledgeBaseService, questions: list[Question]) -> Run:
    paths = KnowledgeBasePaths.under(service.kb_root, KB)
    vectors = VectorIndex(kb_name=KB, path=paths.vector_store, embeddings=service.embeddings)
    keywords = KeywordIndex(paths.keyword_index)
    texts = [q.text for q in questions]
    embedded = service.embeddings.embed_documents(texts)
    vector_found = vectors.search_many(embedded, limit=TOP)
    keyword_found = keywords.search_many(texts, limit=TOP)
    hybrid = service.search_many([SearchRequest(KB, text, top_k=TOP, score_threshold=0.0) for text in texts])
    default = service.search_many([SearchRequest(KB, text, top_k=TOP) for text in texts])
    deep = service.search_many([SearchRequest(KB, text, top_k=40, score_threshold=0.0) for text in texts])
    vectors.close()

    ranks: dict[str, dict[str, list[int | None]]] = {r: {k: [] for k in KINDS} for r in ("hybrid", "vector", "bm25")}
    run = Run(questions, ranks, [], [], [], [], [], [])
    for question, vector, keyword, hits, kept, candidates in zip(
        questions, vector_found, keyword_found, hybrid, default, deep, strict=True
    ):
        for found in (hits, kept, candidates):
            if isinstance(found, Exception):
                raise found
        if hits:
            right = question.doc is not None and rank_of(question, [(hits[0].file, hits[0].text)]) == 1
            run.top_scores.append((question, hits[0].score, right))
        if not kept:
            run.found_nothing.append(question)
        run.features.append((question, _features(question, candidates)))
        if question.doc is None:
            continue
        ranks["hybrid"][question.kind].append(rank_of(question, [(h.file, h.text) for h in hits]))
        ranks["vector"][question.kind].append(rank_of(question, [(m.chunk.file, m.chunk.text) for m in vector]))
        ranks["bm25"][question.kind].append(rank_of(question, [(m.chunk.file, m.chunk.text) for m in keyword.matches]))
        if (ranks["hybrid"][question.kind][-1] or TOP + 1) <= 3:
            run.in_top3.append(question)
            if (rank_of(question, [(h.file, h.text) for h in kept]) or TOP + 1) <= 3:
                run.kept_in_top3.append(question)
    service.search(name=KB, query="warm-up", top_k=TOP)
    for text in texts:
        started = time.perf_counter()
        service.search(name=KB, query=text, top_k=TOP)
        run.times.append(time.perf_counter() - started)
    return run


def _features(question: Question, hits) -> list[tuple[float, float, bool]]:
    """(cosine, keyword coverage, right) of each candidate; keyword-only ones get the lowest cosine."""
    floor = min((h.vector_score for h in hits if h.vector_score is not None), default=0.0)
    return [
        (
            floor if h.vector_score is None else h.vector_score,
            h.keyword_score or 0.0,
            question.doc is not None and rank_of(question, [(h.file, h.text)]) == 1,
        )
        for h in hits
    ]


def report(name: str, run: Run) -> dict[str, bool]:
    """Prints the figures of one part; returns each target, met or not."""
    targets: dict[str, bool] = {}
    counts = ", ".join(f"{kind} {len(run.ranks['hybrid'][kind])}" for kind in KINDS)
    print(f"\n== {name}: {len(run.questions)} questions ({counts}, none {sum(q.doc is None for q in run.questions)})")
    print(f"  {'':10} {'':8} {'hit@1':>6} {'hit@3':>6} {'MRR@5':>6}")
    for kind in KINDS:
        if not run.ranks["hybrid"][kind]:
            continue
        measured = {retriever: quality(run.ranks[retriever][kind]) for retriever in ("hybrid", "vector", "bm25")}
        for retriever, q in measured.items():
            print(f"  {kind:10} {retriever:8} {q.hit1:6.2f} {q.hit3:6.2f} {q.mrr5:6.2f}")
        if kind != "chinese":
            best = (
                max(measured["vector"].hit1, measured["bm25"].hit1),
                max(measured["vector"].hit3, measured["bm25"].hit3),
            )
            targets[f"{kind}: hybrid >= better retriever at hit@1 and hit@3"] = (
                measured["hybrid"].hit1 >= best[0] and measured["hybrid"].hit3 >= best[1]
            )
    positives = [score for q, score, right in run.top_scores if right]
    negatives = [score for q, score, _ in run.top_scores if q.doc is None]
    unanswerable = [q for q in run.questions if q.doc is None]
    auc = roc_auc(positives, negatives)
    nothing = sum(q.doc is None for q in run.found_nothing) / len(unanswerable)
    kept = len(run.kept_in_top3) / len(run.in_top3)
    print(f"  ROC AUC of score (top hit right vs no answer): {auc:.3f}   (target >= 0.90)")
    print(
        f"  at the default score_threshold {DEFAULT_SCORE_THRESHOLD}: unanswerable finding nothing {nothing:.0%} "
        f"(target >= 70%); answerable whose source is in the top 3 keeping it there {kept:.0%} (target >= 90%)"
    )
    missed = [q.text for q in run.in_top3 if q not in run.kept_in_top3]
    if missed:
        print("    answerable that lost their source: " + "; ".join(missed))
    print(
        f"  search per query on this base: p50 {statistics.median(run.times) * 1000:.1f} ms, "
        f"p95 {percentile(run.times, 0.95) * 1000:.1f} ms"
    )
    targets["ROC AUC >= 0.90"] = auc >= 0.90
    targets[">= 70% of unanswerable find nothing"] = nothing >= 0.70
    targets[">= 90% of answerable keep their source in the top 3"] = kept >= 0.90
    return targets


# --- calibration ------------------------------------------------------------------------------------


def calibrate(run: Run) -> RelevanceCalibration:
    """The keyword weight that ranks best, then the logistic fit of relevance on
    `cosine + weight * coverage`, its midpoint moved so that score 0.5 keeps 95% of sources."""
    answerable = [(q, f) for q, f in run.features if q.doc is not None]

    def ranking_quality(weight: float) -> float:
        hits = 0.0
        for _, features in answerable:
            ordered = sorted(features, key=lambda f: -(f[0] + weight * f[1]))
            hits += ordered[0][2] + any(f[2] for f in ordered[:3])
        return hits

    grid = [w / 20 for w in range(0, 21)]
    print("keyword weight: hit@1 + hit@3 on the tuning part")
    print("  " + " ".join(f"{w:.2f}:{ranking_quality(w):.0f}" for w in grid))
    best = max(map(ranking_quality, grid))
    plateau = [w for w in grid if ranking_quality(w) == best]
    weight = plateau[len(plateau) // 2]  # the middle of the best: the least fragile
    evidence = [(f[0] + weight * f[1], f[2]) for _, features in run.features for f in features[:TOP]]
    midpoint, scale = _logistic(evidence)
    best_source = sorted(
        max((f[0] + weight * f[1] for f in features if f[2]), default=-1.0) for _, features in answerable
    )
    midpoint = min(midpoint, best_source[int(0.05 * len(best_source))])
    return RelevanceCalibration(cosine_midpoint=round(midpoint, 3), cosine_scale=round(scale, 3), keyword_weight=weight)


def _logistic(points: list[tuple[float, bool]]) -> tuple[float, float]:
    """Midpoint and scale of the logistic regression of `right` on the evidence (Newton steps)."""
    a, b = 0.0, 1.0  # log-odds = a + b * x
    for _ in range(50):
        ga = gb = haa = hab = hbb = 0.0
        for x, y in points:
            p = 1 / (1 + math.exp(-(a + b * x)))
            ga += y - p
            gb += (y - p) * x
            w = p * (1 - p)
            haa, hab, hbb = haa + w, hab + w * x, hbb + w * x * x
        det = haa * hbb - hab * hab
        a += (hbb * ga - hab * gb) / det
        b += (haa * gb - hab * ga) / det
    return -a / b, 1 / b


# --- main -------------------------------------------------------------------------------------------


def run_part(evalset: EvalSet, embeddings: dict, calibration: RelevanceCalibration | None, chunk_size: int) -> Run:
    files = documents(evalset)
    by_name = dict(files)
    questions = [q for q in evalset.questions if answerable(q, by_name)]
    root = base_dir(files, embeddings, chunk_size)
    build(root, files, embeddings, chunk_size)
    with knowledge_service(root, embeddings) as service:
        if calibration:
            service.searcher.calibration = calibration
        return measure(service, questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calibrate", action="store_true", help="fit the relevance calibration on the tuning part")
    parser.add_argument("--embeddings", default='{"provider": "local"}', help="AGENT_SERVICE_EMBEDDINGS as JSON")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="characters per chunk")
    args = parser.parse_args()
    embeddings = json.loads(args.embeddings)
    calibration = None
    if args.calibrate:
        calibration = calibrate(run_part(TUNING, embeddings, None, args.chunk_size))
        print("calibration:", json.dumps({"relevance": calibration.model_dump()}))
    targets = {}
    for evalset in (TUNING, HELD_OUT):
        for target, met in report(evalset.name, run_part(evalset, embeddings, calibration, args.chunk_size)).items():
            targets[f"{evalset.name}: {target}"] = met
    print("\ntargets:")
    for target, met in targets.items():
        print(f"  {'met    ' if met else 'NOT MET'}  {target}")


if __name__ == "__main__":
    main()
