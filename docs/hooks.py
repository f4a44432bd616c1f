"""MkDocs hooks (mkdocs.yml, `hooks:`): what the site takes from the package at build time rather
than from a copy of it.

- The configuration page's `<!-- schema -->` marker becomes a table of every key of
  exosieve/config.schema.yaml (key path, type, default, description), read with
  exosieve.config.schema(), the loader the workflow validates with.
- The model cards of the shipped bundles (exosieve/bundles/*.md, with their reliability diagrams) become pages under bundles/, as
  they are in the package, so the site quotes them and never a retyped copy.
"""

from __future__ import annotations

import json
from pathlib import Path

MARKER = "<!-- schema -->"
BUNDLES = Path(__file__).resolve().parent.parent / "exosieve" / "bundles"


# --- the configuration table ------------------------------------------------------------------

def _resolve(node: dict, defs: dict) -> dict:
    """A node with its local $ref (#/$defs/name) inlined, its own keys kept over the target's."""
    ref = node.get("$ref")
    if not ref:
        return node
    return {**defs[ref.rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict, defs: dict) -> str:
    if "enum" in node:
        return " \\| ".join(_value(v) for v in node["enum"])
    if "const" in node:
        return _value(node["const"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(_type(_resolve(n, defs), defs) for n in node.get("oneOf", node.get("anyOf")))
    kind = node.get("type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    out = []
    for k in kinds:
        if k == "array" and isinstance(node.get("items"), dict):
            item = _type(_resolve(node["items"], defs), defs)
            out.append(f"list of {item}" if item else "list")
        elif k:
            out.append(k)
    text = " or ".join(out)
    bounds = [f"{sym} {node[key]}" for key, sym in (("minimum", "≥"), ("exclusiveMinimum", ">"),
                                                   ("maximum", "≤"), ("exclusiveMaximum", "<"))
              if key in node]
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _value(value) -> str:
    """A default or enum value, as YAML would write it inline, in a code span."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False).replace('"', "")
    return "`" + text.replace("|", "\\|") + "`"


def _text(description: str) -> str:
    """A schema description as one table cell: pipes escaped, angle brackets shown as typed."""
    return (" ".join(description.split()).replace("\\", "\\\\").replace("|", "\\|")
            .replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*"))


def schema_rows(node: dict, defs: dict, path: str = "", default=None, has_default: bool = False):
    """(key path, type, default, description) of every key under ``node``, depth first. A key's
    default is its parent's default for it where the parent has one (models.exominer's
    scalars: true over the cnn definition's false), as exosieve.config fills them in."""
    node = _resolve(node, defs)
    if not has_default and "default" in node:
        default, has_default = node["default"], True
    props = node.get("properties") if node.get("type") == "object" or "properties" in node else None
    if props:
        if path and node.get("description"):
            yield path, "object", "", node["description"]
        for key, sub in props.items():
            sub_r = _resolve(sub, defs)
            if isinstance(default, dict) and key in default:
                yield from schema_rows(sub, defs, f"{path}.{key}" if path else key, default[key], True)
            else:
                yield from schema_rows(sub, defs, f"{path}.{key}" if path else key,
                                       sub_r.get("default"), "default" in sub_r)
        return
    yield path, _type(node, defs), _value(default) if has_default else "", node.get("description", "")


def schema_markdown() -> str:
    """Every key of the schema, a table per top-level section."""
    from exosieve.config import schema
    full = schema()
    defs = full.get("$defs", {})
    head = "| key | type | default | description |\n| --- | --- | --- | --- |\n"
    top, sections = [], []
    for key, node in full["properties"].items():
        rows = list(schema_rows(node, defs, key))
        table = head + "".join(f"| `{p}` | {t} | {d} | {_text(desc)} |\n" for p, t, d, desc in rows)
        if len(rows) == 1 and rows[0][0] == key:
            top.append(table.split("\n", 2)[2])
        else:
            sections.append(f"### `{key}`\n\n{table}")
    return "### Top-level keys\n\n" + head + "".join(top) + "\n" + "\n".join(sections)


def on_page_markdown(markdown: str, page, config, files):
    if MARKER in markdown:
        return markdown.replace(MARKER, schema_markdown())
    return markdown


# --- the model cards ---------------------------------------------------------------------------

def on_files(files, config):
    from mkdocs.structure.files import File
    for card in sorted(BUNDLES.glob("*.md")):
        name = "index.md" if card.name == "README.md" else card.name
        files.append(File.generated(config, f"bundles/{name}", content=card.read_text()))
    # The cards' reliability diagrams, and the licence the real-label bundles carry.
    for extra in [*sorted(BUNDLES.glob("*.png")), BUNDLES / "GPL-3.0.txt"]:
        files.append(File.generated(config, f"bundles/{extra.name}", content=extra.read_bytes()))
    return files
