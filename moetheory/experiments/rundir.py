"""Run directories: the resolved configuration, the environment, timings, and results streamed
one line per finished unit of work, so that a run killed at any moment can be resumed.

Layout of a run directory::

    config.json        the resolved configuration (sorted keys), written once
    environment.json   where the run started (moetheory.experiments.environment)
    run.json           {"experiment", "device", "started", "resumed": [timestamps],
                        "resume_environments": [...], "seconds": {key: accumulated seconds}}
    results.jsonl      one JSON object per finished unit (sorted keys, "unit" names it)
    *.json             anything else the experiment writes with write_json (summary.json, ...)

Crash safety. Each result is one ``write`` of one line, then ``flush`` and ``os.fsync``, made by
one process only (the one that owns the :class:`RunDirectory`; Dask workers return results to
it). A process killed in the middle of a write can leave a torn final line; :meth:`done` ignores
a final line that does not parse and truncates it away before anything is appended, so
``--resume`` never trusts a half-written result. Any *other* line that does not parse, or a unit
recorded twice, means the file was edited or written by two processes at once: that is a
:class:`~moetheory.experiments.config.ConfigError`, not something to repair silently. The other
files are replaced atomically (``moetheory.files.write_text_atomic``). Timestamps are UTC,
ISO 8601.

Example
-------
>>> import shutil, tempfile
>>> root = Path(tempfile.mkdtemp())
>>> run = RunDirectory(root / "run", experiment="demo", config={"n": 2}, device="cpu")
>>> run.record({"unit": "a", "value": 1})
>>> with open(run.path / "results.jsonl", "a") as f:  # a process killed mid-write
...     _ = f.write('{"unit": "b", "val')
>>> again = RunDirectory(root / "run", experiment="demo", config={"n": 2}, device="cpu",
...                      resume=True)
>>> again.done()
{'a': {'unit': 'a', 'value': 1}}
>>> again.record({"unit": "b", "value": 2})
>>> [r["unit"] for r in again.results()], len(again.run_info()["resumed"])
(['a', 'b'], 1)
>>> shutil.rmtree(root)

Reference: ``shared/reference/experiments.md`` §5 (one writer; append, flush, fsync per line;
on resume ignore a final line that does not parse).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from moetheory.experiments.config import ConfigError
from moetheory.files import write_text_atomic

CONFIG = "config.json"
ENVIRONMENT = "environment.json"
RUN = "run.json"
RESULTS = "results.jsonl"

__all__ = ["RunDirectory", "json_default", "CONFIG", "ENVIRONMENT", "RUN", "RESULTS"]


def json_default(obj: object) -> object:
    """``default=`` for ``json.dumps``: numpy scalars and arrays and torch tensors through
    ``.tolist()``, paths as text, sets as sorted lists; anything else is a ``TypeError``.

    >>> import numpy as np
    >>> data = {"e": np.float32(0.5), "n": np.int64(3), "v": np.arange(2)}
    >>> json.dumps(data, default=json_default)
    '{"e": 0.5, "n": 3, "v": [0, 1]}'
    """
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _dumps(data: object, indent: int | None = None) -> str:
    return json.dumps(data, sort_keys=True, indent=indent, default=json_default)


def _plain(data: object) -> object:
    """``data`` as it reads back from JSON (tuples become lists, numpy scalars numbers)."""
    return json.loads(_dumps(data))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _first_difference(old: object, new: object, where: str = "") -> tuple[str, str, str] | None:
    """(field path, old value, new value) of the first difference between two JSON values, keys
    in sorted order; ``None`` when they are equal (compared as JSON text, so ``1`` differs from
    ``1.0`` and ``true``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            sub = f"{where}.{key}" if where else str(key)
            if key not in old:
                return sub, "<absent>", _dumps(new[key])
            if key not in new:
                return sub, _dumps(old[key]), "<absent>"
            found = _first_difference(old[key], new[key], sub)
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    if _dumps(old) != _dumps(new):
        return where or "<top level>", _dumps(old), _dumps(new)
    return None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RunDirectory:
    """One run's directory: configuration, environment, timings and streamed results.

    ``RunDirectory(path, experiment=..., config=..., device=...)`` starts a new run: ``path``
    must be absent or an empty directory (else :class:`ConfigError`); ``config.json``,
    ``environment.json`` and ``run.json`` are written. With ``resume=True`` the directory must
    hold a ``config.json`` equal to ``config`` (else ``ConfigError`` naming the first differing
    field) and the same experiment; the resume is timestamped in ``run.json["resumed"]`` and a
    torn final result line is cut away.

    ``config`` must be JSON data; it is stored and compared as it reads back from JSON.
    Only one process may write a run directory at a time (not enforced).
    """

    path: Path

    def __init__(
        self,
        path: str | Path,
        *,
        experiment: str,
        config: dict,
        device: str,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self.experiment = experiment
        self.config = _plain(config)
        self.device = str(device)
        if resume:
            self._resume()
        else:
            self._create()
        self._units: set[str] = set(self.done())

    # -- files ------------------------------------------------------------------------------

    @property
    def results_path(self) -> Path:
        """``results.jsonl``."""
        return self.path / RESULTS

    def _environment(self) -> dict:
        import torch

        from moetheory.experiments.device import resolve_device
        from moetheory.experiments.environment import environment

        if self.device == "auto":
            device = resolve_device("auto")
        else:
            try:
                device = torch.device(self.device)
            except (RuntimeError, ValueError):
                raise ConfigError(f"--device {self.device!r}: not a torch device") from None
        return environment(device)

    def _create(self) -> None:
        if os.path.lexists(self.path):
            if not self.path.is_dir():
                raise ConfigError(
                    f"{self.path} exists and is not a directory; choose another --out"
                )
            if any(self.path.iterdir()):
                raise ConfigError(
                    f"{self.path} exists and is not empty; use --resume to continue it or "
                    "choose another --out"
                )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create it: {exc.strerror or exc}") from None
        env = self._environment()
        write_text_atomic(self.path / CONFIG, _dumps(self.config, 2) + "\n")
        write_text_atomic(self.path / ENVIRONMENT, _dumps(env, 2) + "\n")
        info = {
            "experiment": self.experiment,
            "device": self.device,
            "started": _now(),
            "resumed": [],
            "resume_environments": [],
            "seconds": {},
        }
        write_text_atomic(self.path / RUN, _dumps(info, 2) + "\n")
        self.results_path.touch()

    def _resume(self) -> None:
        if not self.path.is_dir():
            raise ConfigError(
                f"{self.path}: nothing to resume (no such directory); run without --resume "
                "to start it"
            )
        config_file = self.path / CONFIG
        try:
            recorded = json.loads(config_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"{self.path}: not a run directory (no {CONFIG}); nothing to resume"
            ) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{config_file}: cannot be read: {exc}") from None
        diff = _first_difference(recorded, self.config)
        if diff is not None:
            field, old, new = diff
            raise ConfigError(
                f"{self.path}: cannot resume: the configuration differs at field '{field}' "
                f"(recorded {_short(old)}, now {_short(new)}); choose another --out for a "
                "new run"
            )
        info = self.run_info()
        if info.get("experiment", self.experiment) != self.experiment:
            raise ConfigError(
                f"{self.path}: cannot resume: it holds a run of experiment "
                f"{info['experiment']!r}, not {self.experiment!r}"
            )
        info.setdefault("experiment", self.experiment)
        info.setdefault("started", None)
        info.setdefault("seconds", {})
        info.setdefault("resumed", []).append(_now())
        info.setdefault("resume_environments", []).append(self._environment())
        write_text_atomic(self.path / RUN, _dumps(info, 2) + "\n")

    def run_info(self) -> dict:
        """The contents of ``run.json`` (an empty dict when it is missing or unreadable)."""
        try:
            data = json.loads((self.path / RUN).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # -- results ----------------------------------------------------------------------------

    def _read(self) -> tuple[list[dict], int, bool, bool]:
        """(records, byte offset after the last good line, torn tail present, last good line
        lacks its newline)."""
        try:
            data = self.results_path.read_bytes()
        except FileNotFoundError:
            return [], 0, False, False
        records: list[dict] = []
        seen: dict[str, int] = {}
        pos, lineno, missing_newline = 0, 0, False
        while pos < len(data):
            lineno += 1
            newline = data.find(b"\n", pos)
            end = len(data) if newline < 0 else newline + 1
            try:
                record = json.loads(data[pos:end])
                ok = isinstance(record, dict) and isinstance(record.get("unit"), str)
            except ValueError:  # JSONDecodeError and UnicodeDecodeError
                ok = False
            if not ok:
                if end == len(data):
                    return records, pos, True, False
                raise ConfigError(
                    f"{self.results_path}:{lineno}: a result line that does not parse (or has "
                    "no 'unit') before the last line: the file was edited or written by two "
                    "processes; repair or remove it"
                )
            unit = record["unit"]
            if unit in seen:
                raise ConfigError(
                    f"{self.results_path}:{lineno}: unit {unit!r} is recorded twice (first on "
                    f"line {seen[unit]}): the file was edited or written by two processes"
                )
            seen[unit] = lineno
            records.append(record)
            missing_newline = newline < 0
            pos = end
        return records, pos, False, missing_newline

    def done(self) -> dict[str, dict]:
        """Unit id → its recorded result line. A final line that does not parse (a torn write
        from a killed process) is ignored and truncated away; a final line complete but for its
        newline gets the newline."""
        records, good, torn, missing_newline = self._read()
        if torn:
            os.truncate(self.results_path, good)
        if missing_newline:
            with open(self.results_path, "ab") as handle:
                handle.write(b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        return {r["unit"]: r for r in records}

    def record(self, result: dict) -> None:
        """Append ``result`` to ``results.jsonl`` as one JSON line (sorted keys), then flush and
        ``os.fsync``. ``result["unit"]`` (a string) names the unit; recording a unit twice is a
        ``ValueError``. numpy and torch values are written through ``.tolist()``."""
        if not isinstance(result, dict) or "unit" not in result:
            raise ValueError("a result must be a dict with a 'unit' key")
        unit = result["unit"]
        if not isinstance(unit, str):
            raise ValueError(f"a result's 'unit' must be a string, not {type(unit).__name__}")
        if unit in self._units:
            raise ValueError(f"unit {unit!r} is already recorded in {self.results_path}")
        line = (_dumps(result) + "\n").encode("utf-8")
        fd = os.open(self.results_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._units.add(unit)

    def results(self) -> list[dict]:
        """Every recorded line in file order (a torn final line is skipped, not removed: this
        only reads, so it is safe on a directory another process is writing)."""
        return self._read()[0]

    # -- other outputs ----------------------------------------------------------------------

    def write_json(self, name: str, data: object) -> Path:
        """Write ``data`` to ``name`` in the run directory (sorted keys, two-space indent)
        atomically; ``name`` may hold sub-folders, created as needed, but not ``..``."""
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"{name!r}: expected a file name inside the run directory")
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(target, _dumps(data, 2) + "\n")

    def timing(self, key: str, seconds: float) -> None:
        """Add ``seconds`` to ``run.json["seconds"][key]`` (accumulated across resumes)."""
        info = self.run_info()
        spent = info.setdefault("seconds", {})
        spent[key] = float(spent.get(key, 0.0)) + float(seconds)
        write_text_atomic(self.path / RUN, _dumps(info, 2) + "\n")

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r}, experiment={self.experiment!r})"
