"""Building an archive from many files: in this process for a few, on Ray Data for many.

The Ray path runs read → segment → embed on a pool of workers (Ray actors, each loading the
embedder once), a shard of articles at a time. Each finished shard is written under
``<archive>/.ingest/<shard>/`` (renamed into place whole), so a build that crashes halfway re-does
only the shards it had not finished; the shards are then merged into the archive
(``qa.store_build.update_corpus``) and removed.

For example::

    ingest(["news/"], "archive/", workers=2)
    # -> IngestReport(documents=1200, sentences=38112, ...)

Without ``ray_address`` a local Ray sized to the machine starts (or the one this process already
joined is used); with one, e.g. ``ray://head:10001`` or ``auto``, the work runs on that cluster,
whose nodes must be able to read the input paths and the archive folder (a shared file system).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.backends import limit_threads
from qa.chunking import Chunk
from qa.config import ARCHIVE_SETTINGS, CorpusSettings
from qa.documents import SUPPORTED_SUFFIXES, Document
from qa.embedding import Embedder
from qa.errors import DocumentError
from qa.store import Corpus, PreparedDocument, read_sentences
from qa.store_build import prepare, update_corpus

logger = logging.getLogger(__name__)

SHARDS_DIR = ".ingest"
# Articles per shard: about 10 s of embedding for a worker on one core, so a crash loses little
# and the progress bar moves, while each shard's fixed cost (a Ray task, two files) stays small.
SHARD_DOCUMENTS = 64
# Below this many articles Ray's start-up (about 5 s) costs more than it saves: read in this process.
IN_PROCESS_BELOW = 64


@dataclass(frozen=True)
class IngestReport:
    documents: int  # articles in the archive after the build
    added: int  # articles read and embedded by this build
    sentences: int  # sentences embedded by this build
    seconds: float
    skipped: list[str] = field(default_factory=list)  # "path: why" for each file that couldn't be read
    workers: int = 0  # Ray workers; 0: in this process

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0


def article_files(paths: Iterable[str | Path]) -> list[Path]:
    """The article files among ``paths``: files as given, directories searched for .txt, .md and
    .html files, in a stable order."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise DocumentError(f"{path}: no such file or directory")
    return files


def _read(path: str) -> Document:
    from qa.library import load_article  # the seed file is read as the seed article

    return load_article(path)


def ingest(
    sources: Sequence[str | Path | Document],
    archive_dir: str | Path,
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    embedder: Embedder | None = None,
    settings: CorpusSettings = ARCHIVE_SETTINGS,
    progress: bool = True,
) -> IngestReport:
    """Add articles to the archive in ``archive_dir``: ``sources`` are files, directories of them,
    or documents already in memory. An article the archive holds already (the same title and text:
    the same id) is not embedded again, so extending an archive costs what is new in it."""
    embedder = embedder or Embedder()
    known = _archive_ids(Path(archive_dir), embedder, settings)
    documents = [asdict(source) for source in sources if isinstance(source, Document) and source.id not in known]
    files = [str(f) for f in article_files(source for source in sources if not isinstance(source, Document))]
    jobs = [{"files": files[i : i + SHARD_DOCUMENTS]} for i in range(0, len(files), SHARD_DOCUMENTS)]
    jobs += [{"documents": documents[i : i + SHARD_DOCUMENTS]} for i in range(0, len(documents), SHARD_DOCUMENTS)]
    workers = _workers(len(files) + len(documents), workers, ray_address)
    return _build(jobs, archive_dir, workers, embedder, settings, progress, known)


def _workers(articles: int, workers: int | None, ray_address: str | None) -> int:
    """Ray workers for a build of ``articles`` (0: in this process). Ray runs when asked for
    (``workers`` > 0, or a cluster's address) or for many articles; ``workers`` None is one per
    CPU of the cluster, which starts here (a local Ray sized to the machine) unless it runs already."""
    if workers == 0 or (workers is None and ray_address is None and articles < IN_PROCESS_BELOW):
        return 0
    import ray

    if not ray.is_initialized():
        ray.init(address=ray_address, logging_level=logging.WARNING, log_to_driver=False)
    return workers or max(1, int(ray.cluster_resources().get("CPU", 1)))


def _shard_id(job: dict, embedder_id: str, settings: CorpusSettings) -> str:
    """Names a shard by what it holds: the same input (files unchanged since) gives the same name."""
    if "files" in job:
        stats = [(f, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in job["files"]]
        content = json.dumps(stats)
    else:
        content = json.dumps([(d["id"], d["source"]) for d in job["documents"]])
    key = f"{embedder_id}\0{asdict(settings.chunking)}\0{settings.chunk_vectors}\0{content}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class ShardEmbedder:
    """Reads, segments and embeds one shard at a time and writes it under the shards folder; in a
    Ray actor, so the embedder loads once per worker."""

    def __init__(
        self,
        shards_dir: str,
        settings: CorpusSettings,
        threads: int | None = 1,
        embedder: Embedder | None = None,
        known: frozenset[str] = frozenset(),
    ) -> None:
        if threads:  # a Ray worker gets one CPU: as many model threads as that
            limit_threads(threads)
        self.shards_dir = Path(shards_dir)
        self.settings = settings
        self.embedder = embedder or Embedder()
        self.known = known  # ids of the articles in the archive already: read, not embedded again

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        done = {"shard": [], "sentences": [], "skipped": []}
        for shard, job in zip(batch["shard"], batch["job"]):
            documents, skipped = _job_documents(json.loads(job))
            prepared = prepare([d for d in documents if d.id not in self.known], self.embedder, self.settings)
            write_shard(self.shards_dir / shard, prepared)
            done["shard"].append(shard)
            done["sentences"].append(sum(len(p.sentences) for p in prepared))
            done["skipped"].append(json.dumps(skipped))
        return done


def _job_size(job: dict) -> int:
    """How many articles a shard's job holds (files to read, or documents)."""
    return len(job.get("files", job.get("documents", [])))


def _job_documents(job: dict) -> tuple[list[Document], list[str]]:
    if "documents" in job:
        return [Document(**d) for d in job["documents"]], []
    documents, skipped = [], []
    for path in job["files"]:
        try:
            documents.append(_read(path))
        except DocumentError as error:
            skipped.append(str(error))
    return documents, skipped


def write_shard(directory: Path, prepared: list[PreparedDocument]) -> None:
    """One finished shard: its vectors and its articles' text, sentences and chunks, renamed into
    place whole (a shard folder that exists is complete)."""
    temporary = directory.with_name(f".tmp-{directory.name}-{uuid.uuid4().hex[:8]}")
    temporary.mkdir(parents=True)
    vectors = np.concatenate([p.vectors for p in prepared]) if prepared else np.zeros((0, Embedder.dimension))
    np.save(temporary / "vectors.npy", vectors.astype(np.float16))
    articles = [
        {
            "document": asdict(p.document),
            "sentences": p.sentence_rows(),
            "chunks": [[c.start, c.end, c.first, c.last] for c in p.chunks],
        }
        for p in prepared
    ]
    (temporary / "articles.json").write_text(json.dumps(articles, ensure_ascii=False))
    os.rename(temporary, directory)


def read_shard(directory: Path) -> Iterator[PreparedDocument]:
    vectors = np.load(directory / "vectors.npy")
    row = 0
    for article in json.loads((directory / "articles.json").read_text()):
        document = Document(**article["document"])
        text = document.text
        sentences, centrality = read_sentences(text, article["sentences"])
        chunks = [
            Chunk(document.id, number, text[s:e], s, e, first, last)
            for number, (s, e, first, last) in enumerate(article["chunks"])
        ]
        yield PreparedDocument(document, sentences, chunks, vectors[row : row + len(chunks)], centrality)
        row += len(chunks)


def _build(
    jobs: list[dict],
    archive_dir: str | Path,
    workers: int,
    embedder: Embedder | None,
    settings: CorpusSettings,
    progress: bool,
    known: frozenset[str],
) -> IngestReport:
    began = time.perf_counter()
    archive_dir = Path(archive_dir)
    shards_dir = archive_dir / SHARDS_DIR
    shards_dir.mkdir(parents=True, exist_ok=True)
    named = {_shard_id(job, embedder.id, settings): job for job in jobs}
    for entry in shards_dir.glob(".tmp-*"):  # half-written by a build that was killed
        shutil.rmtree(entry, ignore_errors=True)
    todo = {shard: job for shard, job in named.items() if not (shards_dir / shard).is_dir()}
    if len(todo) < len(named):
        logger.info("resuming: %d of %d shards already done", len(named) - len(todo), len(named))
    total = sum(map(_job_size, todo.values()))
    skipped: list[str] = []
    sentences = 0
    with tqdm(total=total, desc="embedding", unit="article", disable=not progress, mininterval=2) as bar:
        if workers:
            results = _run_on_ray(todo, shards_dir, workers, settings, known)
        else:
            worker = ShardEmbedder(str(shards_dir), settings, threads=None, embedder=embedder, known=known)
            results = (worker({"shard": [s], "job": [json.dumps(j)]}) for s, j in todo.items())
        for done in results:
            for shard, shard_sentences, shard_skipped in zip(done["shard"], done["sentences"], done["skipped"]):
                sentences += int(shard_sentences)
                skipped += json.loads(shard_skipped)
                bar.update(_job_size(todo[shard]))
    prepared = [p for shard in named for p in read_shard(shards_dir / shard)]
    archive = update_corpus(archive_dir, embedder, prepared, settings=settings)
    shutil.rmtree(shards_dir, ignore_errors=True)
    for reason in skipped:
        logger.warning("skipped %s", reason)
    return IngestReport(
        documents=len(archive),
        added=len(archive) - len(known),
        sentences=sentences,
        seconds=time.perf_counter() - began,
        skipped=skipped,
        workers=workers,
    )


def _archive_ids(archive_dir: Path, embedder: Embedder, settings: CorpusSettings) -> frozenset[str]:
    """The ids of the articles in the archive there now (none when there is none yet); a damaged
    or stale archive is refused (``CorpusError``) before anything is embedded."""
    from qa.store import open_corpus

    archive: Corpus | None = open_corpus(archive_dir, embedder, settings)
    return frozenset(archive.ids) if archive else frozenset()


def _run_on_ray(
    todo: dict[str, dict], shards_dir: Path, workers: int, settings: CorpusSettings, known: frozenset[str]
) -> Iterator[dict]:
    """Each shard's result row as one of ``workers`` Ray workers finishes it."""
    import ray

    if not todo:
        return
    rows = [{"shard": shard, "job": json.dumps(job)} for shard, job in todo.items()]
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # ours counts articles
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        ShardEmbedder,
        fn_constructor_kwargs={"shards_dir": str(shards_dir.resolve()), "settings": settings, "known": known},
        batch_size=1,
        num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=min(workers, len(rows))),
    )
    for batch in dataset.iter_batches(batch_size=1, batch_format="numpy"):
        yield {key: list(values) for key, values in batch.items()}
