"""Uploaded packages on disk: one ``<id>.yaml`` per package in the
workspace's ``uploads/`` folder, so they survive a restart.

Writes are atomic: the text goes to a temporary file in the same folder,
is flushed to disk, then renamed over the package file (:func:`os.replace`),
so a reader, a crash or a full disk leaves either the old file or the new
one, never part of one. Nothing is deleted except on request: a file that
cannot be read or parsed at start is reported and left where it is (and set
aside under a ``.corrupt`` name, never overwritten, if an upload later
takes its name).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: Temporary files older than this at start are left-overs of a write that
#: never finished (the package file itself is intact); younger ones may
#: belong to another server writing the same folder, and are left alone.
STALE_TEMP_SECONDS = 3600
TEMP_SUFFIX = ".tmp"


@dataclass
class StoredFile:
    path: Path
    text: str | None  # None: could not be read (see problem)
    problem: str | None = None


class UploadStore:
    """The folder of uploaded package files."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def path_for(self, pid: str) -> Path:
        # ids are slugs ([a-z0-9][a-z0-9-]*, checked by the package schema);
        # checked again here, as this names a file
        if not pid or pid.startswith((".", "-")) or any(not (c.isascii() and (c.isalnum() or c == "-")) for c in pid):
            raise ValueError(f"not a package id usable as a file name: {pid!r}")
        return self.folder / f"{pid}.yaml"

    def read_all(self, max_bytes: int) -> list[StoredFile]:
        """Every package file in the folder, oldest first (by modification
        time, then name); a file that cannot be read comes back with its
        problem. Removes stale temporary files of unfinished writes."""
        if not self.folder.is_dir():
            return []
        out: list[StoredFile] = []
        files = []
        try:
            entries = list(self.folder.iterdir())
        except OSError as exc:
            return [StoredFile(self.folder, None, f"folder cannot be read ({exc.strerror or exc})")]
        for f in entries:
            if f.name.startswith(".") and f.name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    if time.time() - f.stat().st_mtime > STALE_TEMP_SECONDS:
                        f.unlink()
                continue
            if f.suffix in (".yaml", ".yml") and not f.name.startswith(".") and f.is_file():
                try:
                    files.append((f.stat().st_mtime, f.name, f))
                except OSError:
                    continue
        for _, _, f in sorted(files):
            try:
                size = f.stat().st_size
                if size > max_bytes:
                    out.append(StoredFile(f, None, f"larger than {max_bytes // 1024} KB ({size // 1024} KB)"))
                    continue
                out.append(StoredFile(f, f.read_bytes().decode("utf-8")))
            except UnicodeDecodeError as exc:
                out.append(StoredFile(f, None, f"not UTF-8 text (byte {exc.start})"))
            except OSError as exc:
                out.append(StoredFile(f, None, f"cannot be read ({exc.strerror or exc})"))
        return out

    def save(self, pid: str, text: str, keep: Path | None = None, in_use: frozenset[Path] | set[Path] = frozenset()) -> Path:
        """Write ``text`` as the file of package ``pid`` atomically and return
        its path. ``keep``: the file this package was loaded from, if any
        (rewritten in place); ``in_use``: files holding other packages, never
        touched (the new file gets another name). A file in the way that
        holds no package (one that failed to load) is set aside under a
        ``.corrupt`` name first, not overwritten."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = keep
        if target is None:
            target = self.path_for(pid)
            n = 1
            while target in in_use:
                n += 1
                target = self.folder / f"{pid}-{n}.yaml"
            if target.exists():
                target.replace(self._aside(target))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._sync_folder()
        return target

    def delete(self, path: Path) -> None:
        """Remove a package file (already gone is fine)."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._sync_folder()

    def _aside(self, path: Path) -> Path:
        n = 0
        while True:
            cand = path.with_name(f"{path.name}.corrupt" + (f"-{n}" if n else ""))
            if not cand.exists():
                return cand
            n += 1

    def _sync_folder(self) -> None:
        """Make the rename or removal itself durable (POSIX)."""
        try:
            fd = os.open(self.folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
