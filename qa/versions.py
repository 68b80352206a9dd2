"""Atomic versions of a store's files, shared by an article's index and an archive: each build
writes a new version folder beside the live one, with a manifest of every file's size and checksum,
and switches ``CURRENT`` to it in one ``os.replace``. A build killed at any point leaves the last
good version live and whole; damage is found on load (``file_damage``).

>>> is_version_name("v20261206T101500-0a1b2c3d"), is_version_name("../elsewhere")
(True, False)
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from qa.errors import DocumentError

logger = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
# A disk or quota full, or a file-size limit reached: a build that has no room, not a bug.
_NO_ROOM = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG))
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")
MANIFEST_FILE = "manifest.json"
_VERSION_NAME = re.compile(r"v\d{8}T\d{6}-[0-9a-f]{8}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


BUILD_LOCK_FILE = ".build.lock"


@contextmanager
def build_lock(home: Path):
    """Hold ``home``'s build lock: one build at a time writes there, whichever process runs it (two
    ``qa index --archive`` on one folder: the second waits, then builds on what the first made)."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / BUILD_LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.warning("another build of %s is running: waiting for it to finish", home)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _building(home: Path) -> bool:
    """True while a build holds ``home``'s lock."""
    if not (home / BUILD_LOCK_FILE).exists():
        return False
    with open(home / BUILD_LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def remove_incomplete(root: Path, document_id: str | None = None) -> None:
    """Remove what builds killed before their switch left under ``root``: temporary version
    folders, and article folders that never got a live version. Only while no build runs there
    (at start-up, or for ``document_id`` once its build was stopped)."""
    try:
        homes = [root / document_id] if document_id else [path for path in root.iterdir() if path.is_dir()]
    except OSError:
        return
    for home in homes:
        if not home.is_dir() or _building(home):  # another process is building there now
            continue
        if not (home / CURRENT_FILE).is_file():
            shutil.rmtree(home, ignore_errors=True)
            continue
        for entry in home.iterdir():
            if entry.name.startswith(".tmp-"):
                shutil.rmtree(entry, ignore_errors=True)


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's entries to disk, so a rename never outlives its content."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _replace_atomically(path: Path, text: str) -> None:
    """Replace ``path``'s content in one step: readers see the old file or the new, never half."""
    temporary = path.with_name(f".{path.name}-{uuid.uuid4().hex[:8]}")
    with temporary.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync(path.parent)


def is_version_name(name: str) -> bool:
    """True for a version folder's name as ``publish_version`` makes them: only those are followed
    from CURRENT, so a damaged pointer can't lead elsewhere."""
    return bool(_VERSION_NAME.fullmatch(name))


def publish_version(home: Path, write: Callable[[Path], tuple[dict, Sequence[str]]]) -> tuple[Path, dict]:
    """A new version of what ``home`` holds, switched to in one atomic step; its folder and manifest.

    ``write(folder)`` writes the data files into a temporary folder and returns the manifest and
    the names of those files. Their sizes and sha256 join the manifest (``file_damage`` checks them
    on load); everything is flushed, the folder renamed into place, and ``CURRENT`` switched to it
    with one ``os.replace``: a build killed at any point leaves the previous version live and whole.
    Older versions and the debris of killed builds are removed after the switch; anything else in
    ``home`` (an archive's shards being merged) is left alone.
    """
    home.mkdir(parents=True, exist_ok=True)
    version = f"v{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    temporary = home / f".tmp-{version}"
    temporary.mkdir()
    try:
        manifest, files = write(temporary)
        manifest["files"] = {
            name: {"size": (temporary / name).stat().st_size, "sha256": sha256_of(temporary / name)} for name in files
        }
        (temporary / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        for name in (*files, MANIFEST_FILE):
            _fsync(temporary / name)
        os.rename(temporary, home / version)
    except (OSError, sqlite3.OperationalError) as error:
        shutil.rmtree(temporary, ignore_errors=True)
        # numpy reports a short write ("4608 requested and 1984 written") without an errno.
        if getattr(error, "errno", None) in _NO_ROOM or _SHORT_WRITE.search(str(error)) or "disk is full" in str(error):
            reason = os.strerror(error.errno).lower() if getattr(error, "errno", None) else "the disk is full"
            raise DocumentError(
                f"there is no room to write the index in {home} ({reason}): "
                "free some space; the previous version is kept as it was"
            ) from error
        raise
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _fsync(home)
    _replace_atomically(home / CURRENT_FILE, version)  # the one step that switches versions
    for entry in home.iterdir():
        if entry.name == version:
            continue
        if entry.is_dir() and (is_version_name(entry.name) or entry.name.startswith(".tmp-")):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_file() and entry.name.startswith(f".{CURRENT_FILE}-"):  # a switch killed midway
            entry.unlink(missing_ok=True)
    return home / version, manifest


def file_damage(directory: Path, name: str, recorded: object) -> tuple[str, str] | None:
    """How a version's file ``name`` fails its manifest entry ``recorded`` — ("corrupted" or
    "truncated", the detail) — or None when its size and checksum match."""
    if not isinstance(recorded, dict):
        return "corrupted", f"manifest.json lists no {name}"
    if (size := (directory / name).stat().st_size) != recorded.get("size"):
        return "truncated", f"{name} has {size} bytes, not {recorded.get('size')}"
    if sha256_of(directory / name) != recorded.get("sha256"):
        return "corrupted", f"{name} checksum mismatch"
    return None
