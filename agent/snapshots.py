"""Durable aggregation: the generator's ``Aggregator`` snapshotted to a file, atomically.

The aggregation itself is pure (``generator.aggregate``); this adapter only moves its
snapshots to and from disk. A snapshot is written to a fresh temp file in the same directory
(never a pre-existing one, never through a symlink), flushed and fsync'ed, then renamed over
the previous snapshot and the directory fsync'ed, so a crash at any point leaves either the
old or the new snapshot, whole. An agent restarted mid-window restores from the file and
loses nothing that was saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

from generator.aggregate import Aggregator, Options

DEFAULT_OPTIONS = Options()


class SnapshotError(Exception):
    """The snapshot file exists but cannot be used."""


def save(path: str, aggregator: Aggregator) -> None:
    """Replace the snapshot at ``path`` with the aggregator's state, atomically."""
    directory = os.path.dirname(os.path.abspath(path))
    data = json.dumps(aggregator.snapshot(), separators=(",", ":")).encode("ascii")
    fd, tmp = tempfile.mkstemp(prefix=".snapshot-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load(path: str, name: str, options: Options = DEFAULT_OPTIONS) -> Aggregator:
    """The aggregator saved at ``path``, or a new one for ``name`` when there is no file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return Aggregator(name, options)
    except OSError as error:
        raise SnapshotError(f"cannot read snapshot {path}: {error.strerror}") from error
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read()
    try:
        document: Mapping[str, Any] = json.loads(raw)
        return Aggregator.restore(document)
    except (ValueError, AttributeError) as error:
        raise SnapshotError(f"snapshot {path} is unusable: {error}") from error


class DurableAggregator:
    """An aggregator whose every event survives the agent's death: a journal plus snapshots.

    Each event is appended to ``PATH.journal`` (one JSON line, flushed to the kernel at once, so a
    killed process loses nothing; ``fsync`` comes with each snapshot). Every ``every`` events, and on
    ``save()``, the aggregate is snapshotted atomically and the journal emptied. Restoring loads the
    snapshot and replays the journal; a torn last line (the process died mid-write) is skipped.
    """

    def __init__(self, path: str, name: str, options: Options = DEFAULT_OPTIONS, every: int = 1000) -> None:
        self.path = path
        self.every = every
        self.aggregator = load(path, name, options)
        self._unsaved = self._replay(self.journal_path)
        self._journal = open(self.journal_path, "a", encoding="utf-8")  # noqa: SIM115 (lives with self)
        if self._journal.tell() > 0:
            self._journal.write("\n")  # end a line torn by a crash; blank lines are skipped

    @property
    def journal_path(self) -> str:
        return self.path + ".journal"

    def _replay(self, journal: str) -> int:
        try:
            fd = os.open(journal, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return 0
        except OSError as error:
            raise SnapshotError(f"cannot read journal {journal}: {error.strerror}") from error
        replayed = 0
        with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash
                if isinstance(event, dict):
                    self.aggregator.add(event)
                    replayed += 1
        return replayed

    def add(self, event: Mapping[str, Any]) -> None:
        self.aggregator.add(event)
        self._journal.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._journal.flush()
        self._unsaved += 1
        if self._unsaved >= self.every:
            self.save()

    def save(self) -> None:
        save(self.path, self.aggregator)
        self._journal.truncate(0)
        self._journal.seek(0)
        self._unsaved = 0

    def close(self) -> None:
        self._journal.close()

    def remove(self) -> None:
        """Delete the snapshot and the journal (the window was delivered or dropped)."""
        self.close()
        for path in (self.path, self.journal_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
