"""The TypeScript half of the repository model, read with tree-sitter.

- `checks.ts.facts.extract_file(path, source) -> FileFacts`: pure, per file, cacheable by content.
- `checks.ts.link.link(facts, packages, config, tsconfig_paths) -> LinkedTs`: resolves imports,
  mounts, clients and consumers across files into the model's entities.
"""
