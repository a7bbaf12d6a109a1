"""The target repository as the scaffolder sees it: the model, a reader for file contents, the
documents being edited and the files being created, and the style of each package."""

from __future__ import annotations

import difflib
import posixpath
from dataclasses import dataclass
from typing import Callable

from ..config import Config
from ..model import Package, RepoModel
from .errors import ScaffoldError
from .style import Style, detect_style, restyle
from .tsedit import Doc, error_count

Reader = Callable[[str], "str | None"]

TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")


@dataclass
class FileChange:
    path: str
    old: str | None  # None: a new file
    new: str

    @property
    def created(self) -> bool:
        return self.old is None

    def diff(self) -> str:
        a = [] if self.old is None else self.old.splitlines(keepends=True)
        b = self.new.splitlines(keepends=True)
        for lines in (a, b):
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n\\ No newline at end of file\n"
        return "".join(difflib.unified_diff(a, b, "/dev/null" if self.old is None else f"a/{self.path}",
                                            f"b/{self.path}"))


class Project:
    def __init__(self, model: RepoModel, config: Config, read: Reader):
        self.model = model
        self.config = config
        self._read = read
        self.docs: dict[str, Doc] = {}
        self.created: dict[str, str] = {}
        self.order: list[str] = []
        self.notes: list[str] = []
        self._styles: dict[str, Style] = {}
        self._texts: dict[str, str | None] = {}

    # ------------------------------------------------------------------ files

    def read(self, path: str) -> str | None:
        if path in self.created:
            return self.created[path]
        if path not in self._texts:
            try:
                self._texts[path] = self._read(path)
            except (OSError, KeyError):
                self._texts[path] = None
        return self._texts[path]

    def exists(self, path: str) -> bool:
        return path in self.created or path in self.model.files

    def doc(self, path: str) -> Doc:
        if path not in self.docs:
            text = self.read(path)
            if text is None:
                raise ScaffoldError(f"cannot read {path}")
            self.docs[path] = Doc(path, text)
            self.order.append(path)
        return self.docs[path]

    def create(self, path: str, text: str) -> None:
        if path in self.model.files or path in self.created:
            raise ScaffoldError(f"{path} already exists")
        self.created[path] = text
        self.order.append(path)

    def ts_files(self, under: str = "") -> list[str]:
        prefix = under.rstrip("/") + "/" if under else ""
        return [f for f in self.model.files if f.endswith(TS_SUFFIXES) and f.startswith(prefix)
                and not f.endswith(".d.ts")]

    # ------------------------------------------------------------------ style

    def package_of(self, path: str) -> Package | None:
        return self.model.package_of(path)

    def style(self, path: str) -> Style:
        pkg = self.package_of(path)
        key = pkg.path if pkg is not None else ""
        if key not in self._styles:
            files = [f for f in self.ts_files(key) if "database.types" not in f][:40]
            self._styles[key] = detect_style([self.read(f) or "" for f in files])
        return self._styles[key]

    def code(self, path: str, canonical: str) -> str:
        """Generated code in the style of the package `path` belongs to."""
        return restyle(canonical, self.style(path))

    def member_code(self, path: str, canonical: str) -> str:
        """A class member (method) in the package's style: restyled inside a class, returned
        without the class and at indentation zero."""
        import textwrap

        from .style import reindent

        body = reindent(textwrap.dedent(canonical).strip("\n"), "  ")
        out = self.code(path, "class X {\n" + body + "\n}").split("\n")[1:-1]
        ind = self.style(path).indent
        return "\n".join(line[len(ind):] if line.startswith(ind) else line for line in out)

    def module(self, from_file: str, to_file: str) -> str:
        from .tsedit import relative_module

        return relative_module(from_file, to_file, self.style(from_file).js_ext)

    # ------------------------------------------------------------------ result

    def changes(self) -> list[FileChange]:
        out = []
        for path in self.order:
            if path in self.created:
                out.append(FileChange(path, None, self.created[path]))
            else:
                d = self.docs[path]
                if d.changed:
                    new = d.result()
                    if new != d.text:
                        out.append(FileChange(path, d.text, new))
        for ch in out:
            if ch.path.endswith(TS_SUFFIXES) and error_count(ch.new) > error_count(ch.old or ""):
                raise ScaffoldError(f"internal error: the generated {ch.path} does not parse; please report this\n{ch.diff()}")
        return out


def join(*parts: str) -> str:
    return posixpath.normpath(posixpath.join(*parts))
