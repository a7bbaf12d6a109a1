"""Bare git repositories driven through git plumbing commands.

Nothing here touches a work tree: commits are built with a temporary index
(``GIT_INDEX_FILE``), ``hash-object``, ``update-index``, ``write-tree`` and
``commit-tree``; refs move with ``update-ref`` (compare-and-swap).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class GitError(RuntimeError):
    pass


@dataclass
class Person:
    name: str
    email: str
    date: int  # epoch seconds

    @property
    def iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.date))


@dataclass
class CommitInfo:
    sha: str
    tree: str
    parents: list[str]
    author: Person
    committer: Person
    message: str


@dataclass
class TreeEntry:
    mode: str
    type: str
    sha: str
    size: int | None
    path: str


@dataclass
class FileChange:
    status: str  # added, removed, modified, renamed, copied, changed
    filename: str
    previous_filename: str | None
    old_sha: str | None
    new_sha: str | None
    additions: int
    deletions: int
    patch: str | None
    binary: bool


NULL_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _base_env(home: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "GitHub",
        "GIT_AUTHOR_EMAIL": "noreply@github.com",
        "GIT_COMMITTER_NAME": "GitHub",
        "GIT_COMMITTER_EMAIL": "noreply@github.com",
    }
    return env


class GitRepo:
    """One bare repository."""

    def __init__(self, path: Path, home: str):
        self.path = Path(path)
        self.home = home
        self._env = _base_env(home)

    # ------------------------------------------------------------------ plumbing
    @classmethod
    def init(cls, path: Path, default_branch: str, home: str) -> "GitRepo":
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path, home)
        repo.run("init", "--bare", "--quiet", f"--initial-branch={default_branch}", str(path), git_dir=False)
        return repo

    def run(self, *args: str, input: bytes | None = None, env: dict | None = None, check: bool = True,
            git_dir: bool = True, ok_codes: tuple = (0,), cwd: str | None = None) -> bytes:
        cmd = ["git"]
        if git_dir:
            cmd.append(f"--git-dir={self.path}")
        cmd += list(args)
        e = dict(self._env)
        if env:
            e.update(env)
        p = subprocess.run(cmd, input=input, capture_output=True, env=e, cwd=cwd or self.home)
        if check and p.returncode not in ok_codes:
            raise GitError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode(errors='replace').strip()}")
        self.last_returncode = p.returncode
        return p.stdout

    def _out(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).decode("utf-8", "surrogateescape")

    # ------------------------------------------------------------------ objects
    def hash_blob(self, data: bytes) -> str:
        return self._out("hash-object", "-w", "-t", "blob", "--stdin", input=data).strip()

    def object_type(self, sha: str) -> str | None:
        p = self.run("cat-file", "-t", sha, check=False)
        return p.decode().strip() if self.last_returncode == 0 else None

    def resolve(self, rev: str, kind: str = "commit") -> str | None:
        """sha of ``rev`` peeled to ``kind`` (commit/tree/blob), or None."""
        if not rev or rev.startswith("-"):
            return None
        out = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{{kind}}}", check=False)
        if self.last_returncode != 0:
            return None
        return out.decode().strip() or None

    def resolve_branch_or_sha(self, rev: str) -> str | None:
        for cand in (f"refs/heads/{rev}", f"refs/tags/{rev}", rev):
            sha = self.resolve(cand)
            if sha:
                return sha
        return None

    def read_blob(self, sha: str) -> bytes:
        return self.run("cat-file", "blob", sha)

    def blob_size(self, sha: str) -> int:
        return int(self._out("cat-file", "-s", sha).strip())

    def read_commit(self, sha: str) -> CommitInfo:
        raw = self._out("cat-file", "commit", sha)
        header, _, message = raw.partition("\n\n")
        tree, parents, author, committer = "", [], None, None
        for line in header.split("\n"):
            key, _, val = line.partition(" ")
            if key == "tree":
                tree = val
            elif key == "parent":
                parents.append(val)
            elif key in ("author", "committer"):
                person = _parse_person(val)
                if key == "author":
                    author = person
                else:
                    committer = person
        return CommitInfo(sha, tree, parents, author, committer, message)

    def ls_tree(self, tree: str, recursive: bool = False, path: str | None = None) -> list[TreeEntry]:
        args = ["ls-tree", "-l", "-z", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        args.append(tree)
        if path:
            args += ["--", path]
        out = self._out(*args)
        entries = []
        for rec in out.split("\0"):
            if not rec:
                continue
            meta, _, p = rec.partition("\t")
            mode, typ, sha, size = meta.split(None, 3)
            entries.append(TreeEntry(mode, typ, sha, None if size.strip() == "-" else int(size), p))
        return entries

    def entry_at(self, rev: str, path: str) -> TreeEntry | None:
        """The tree entry at ``path`` in the commit/tree ``rev`` (path '' = root tree)."""
        tree = self.resolve(rev, "tree")
        if not tree:
            return None
        path = path.strip("/")
        if not path:
            return TreeEntry("040000", "tree", tree, None, "")
        ents = self.ls_tree(tree, path=path)
        for e in ents:
            if e.path == path:
                return e
        return None

    def file_at(self, rev: str, path: str) -> bytes | None:
        e = self.entry_at(rev, path)
        if e is None or e.type != "blob":
            return None
        return self.read_blob(e.sha)

    # ------------------------------------------------------------------ writing
    def _with_index(self, fn):
        fd, idx = tempfile.mkstemp(prefix="fakegh-index-", dir=self.home)
        os.close(fd)
        os.unlink(idx)
        try:
            return fn({"GIT_INDEX_FILE": idx})
        finally:
            if os.path.exists(idx):
                os.unlink(idx)

    def import_directory(self, directory: Path) -> str:
        """Tree sha of everything in ``directory`` (``.gitignore`` honoured, ``.git`` skipped)."""
        directory = Path(directory)

        def go(env):
            self.run(f"--work-tree={directory}", "add", "-A", ".", env=env, cwd=str(directory))
            return self._out("write-tree", env=env).strip()

        if not any(directory.iterdir()):
            return EMPTY_TREE
        return self._with_index(go)

    def build_tree(self, base_tree: str | None, changes: dict[str, tuple[str, str] | None]) -> str:
        """New tree from ``base_tree`` with ``changes``: path -> (mode, blob sha) or None (delete).

        A change whose mode is ``040000`` puts a whole tree (by sha) at that path.
        """

        def go(env):
            if base_tree:
                self.run("read-tree", base_tree, env=env)
            else:
                self.run("read-tree", "--empty", env=env)
            lines = []
            subtrees = []
            for path, change in changes.items():
                path = path.strip("/")
                if change is None:
                    lines.append(f"0 {NULL_SHA}\t{path}")
                    # also remove everything below a deleted directory
                    out = self._out("ls-files", "-z", "--", path + "/", env=env)
                    for p in out.split("\0"):
                        if p:
                            lines.append(f"0 {NULL_SHA}\t{p}")
                else:
                    mode, sha = change
                    if mode in ("040000", "40000"):
                        subtrees.append((path, sha))
                    else:
                        lines.append(f"{mode} {sha}\t{path}")
            if lines:
                self.run("update-index", "--index-info", input=("\n".join(lines) + "\n").encode(), env=env)
            for path, sha in subtrees:
                out = self._out("ls-files", "-z", "--", path + "/", env=env)
                rm = [f"0 {NULL_SHA}\t{p}" for p in out.split("\0") if p]
                if rm:
                    self.run("update-index", "--index-info", input=("\n".join(rm) + "\n").encode(), env=env)
                self.run("read-tree", f"--prefix={path}/", sha, env=env)
            return self._out("write-tree", env=env).strip()

        return self._with_index(go)

    def commit_tree(self, tree: str, parents: list[str], message: str,
                    author: tuple[str, str] | None = None, committer: tuple[str, str] | None = None,
                    date: int | None = None, author_date: int | None = None) -> str:
        now = int(date if date is not None else time.time())
        a = author or ("GitHub", "noreply@github.com")
        c = committer or a
        env = {
            "GIT_AUTHOR_NAME": a[0], "GIT_AUTHOR_EMAIL": a[1],
            "GIT_AUTHOR_DATE": f"{int(author_date if author_date is not None else now)} +0000",
            "GIT_COMMITTER_NAME": c[0], "GIT_COMMITTER_EMAIL": c[1], "GIT_COMMITTER_DATE": f"{now} +0000",
        }
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        return self._out(*args, input=message.encode(), env=env).strip()

    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        """Compare-and-swap: ``old`` None = don't care, NULL_SHA = must not exist."""
        args = ["update-ref", ref, new]
        if old is not None:
            args.append(old)
        self.run(*args)

    def delete_ref(self, ref: str) -> None:
        self.run("update-ref", "-d", ref)

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        out = self._out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        res = {}
        for line in out.splitlines():
            name, _, sha = line.partition(" ")
            res[name] = sha
        return res

    def ref_sha(self, ref: str) -> str | None:
        out = self.run("rev-parse", "--verify", "--quiet", ref, check=False)
        if self.last_returncode != 0:
            return None
        return out.decode().strip()

    # ------------------------------------------------------------------ history
    def merge_base(self, a: str, b: str) -> str | None:
        out = self.run("merge-base", a, b, check=False)
        return out.decode().strip() or None if self.last_returncode == 0 else None

    def is_ancestor(self, a: str, b: str) -> bool:
        self.run("merge-base", "--is-ancestor", a, b, check=False)
        return self.last_returncode == 0

    def rev_list(self, *args: str) -> list[str]:
        return [x for x in self._out("rev-list", *args).split() if x]

    def count(self, rng: str) -> int:
        return int(self._out("rev-list", "--count", rng).strip() or 0)

    def merge_tree(self, base_tip: str, head_tip: str) -> str | None:
        """Tree of merging head into base (None on conflicts)."""
        out = self.run("merge-tree", "--write-tree", "--no-messages", base_tip, head_tip, check=False, ok_codes=(0, 1))
        if self.last_returncode != 0:
            return None
        return out.decode().split("\n", 1)[0].strip()

    # ------------------------------------------------------------------ diffs
    def diff(self, base: str, head: str) -> list[FileChange]:
        """Files changed from commit/tree ``base`` to ``head`` (renames detected)."""
        opts = ["-r", "-M", "--no-commit-id"]
        raw = self._out("diff-tree", *opts, "-z", "--raw", base, head)
        recs = raw.split("\0")
        entries = []
        i = 0
        while i < len(recs):
            meta = recs[i]
            if not meta.startswith(":"):
                i += 1
                continue
            omode, nmode, osha, nsha, status = meta[1:].split(" ")
            code = status[0]
            if code in "RC":
                old, new = recs[i + 1], recs[i + 2]
                i += 3
            else:
                old = new = recs[i + 1]
                i += 2
            entries.append([code, old, new, osha, nsha, omode, nmode])
        num = self._out("diff-tree", *opts, "-z", "--numstat", base, head)
        nrecs = num.split("\0")
        stats = []
        j = 0
        while j < len(nrecs):
            rec = nrecs[j]
            if not rec:
                j += 1
                continue
            add, dele, path = rec.split("\t", 2)
            if path == "":
                j += 3
            else:
                j += 1
            stats.append((add, dele))
        patch_out = self._out("diff-tree", *opts, "-p", "--no-color", base, head)
        chunks: list[list[str]] = []
        for line in patch_out.split("\n"):
            if line.startswith("diff --git "):
                chunks.append([])
            elif chunks:
                chunks[-1].append(line)
        changes = []
        for k, (code, old, new, osha, nsha, omode, nmode) in enumerate(entries):
            add, dele = stats[k] if k < len(stats) else ("0", "0")
            binary = add == "-"
            patch = None
            if k < len(chunks) and not binary:
                lines = chunks[k]
                start = next((n for n, ln in enumerate(lines) if ln.startswith("@@")), None)
                if start is not None:
                    body = lines[start:]
                    while body and body[-1] == "":
                        body.pop()
                    patch = "\n".join(body)
            status = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied",
                      "T": "changed"}.get(code, "modified")
            changes.append(FileChange(
                status=status, filename=new, previous_filename=old if code in "RC" else None,
                old_sha=None if osha == NULL_SHA else osha, new_sha=None if nsha == NULL_SHA else nsha,
                additions=0 if binary else int(add), deletions=0 if binary else int(dele),
                patch=patch, binary=binary,
            ))
        return changes

    def destroy(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _parse_person(val: str) -> Person:
    # "Name <email> 1700000000 +0000"
    lt = val.rfind("<")
    gt = val.rfind(">")
    name = val[:lt].strip()
    email = val[lt + 1:gt]
    rest = val[gt + 1:].split()
    date = int(rest[0]) if rest else 0
    return Person(name, email, date)
