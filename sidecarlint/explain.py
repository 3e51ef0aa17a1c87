"""A rule's documentation as text, for `sidecarlint explain` and the SARIF help, and as the
Markdown pages of docs/rules/ (`python -m sidecarlint.explain docs/rules` rewrites them; a
test fails while they are stale)."""

from __future__ import annotations

import textwrap

from sidecarlint.rules import Rule

HEADINGS = (("what", "What it flags"), ("why", "Why it matters"))


def _wrap(text: str) -> str:
    return textwrap.fill(
        " ".join(str(text).split()),
        width=88,
        initial_indent="  ",
        subsequent_indent="  ",
        break_on_hyphens=False,
        break_long_words=False,
    )


def _block(text: str) -> str:
    return textwrap.indent(str(text).rstrip("\n"), "    ")


def render_rule(rule: Rule) -> str:
    docs = rule.docs
    lines = [f"{rule.id} ({rule.severity}, {rule.family})", f"  {rule.summary}", ""]
    for key, heading in HEADINGS:
        if docs.get(key):
            lines += [f"{heading}:", _wrap(docs[key]), ""]
    if rule.params:
        lines.append("Parameters (set in config under params.<rule-id>):")
        for name, param in rule.params.items():
            desc = f": {param.description}" if param.description else ""
            lines.append(_wrap(f"{name} ({param.type}, default {param.default!r}){desc}"))
        lines.append("")
    if docs.get("example"):
        lines += ["Example (flagged):", _block(docs["example"]), ""]
    if docs.get("use_instead"):
        lines += ["Use instead:", _block(docs["use_instead"]), ""]
    if docs.get("references"):
        lines.append("References:")
        lines += [f"  - {ref}" for ref in docs["references"]]
    return "\n".join(lines).rstrip("\n")


def render_markdown(rule: Rule) -> str:
    docs = rule.docs
    parts = [f"**{rule.summary}**"]
    for key, heading in HEADINGS:
        if docs.get(key):
            parts.append(f"### {heading}\n\n{' '.join(str(docs[key]).split())}")
    if docs.get("example"):
        parts.append(f"### Example (flagged)\n\n```yaml\n{str(docs['example']).rstrip()}\n```")
    if docs.get("use_instead"):
        parts.append(f"### Use instead\n\n```yaml\n{str(docs['use_instead']).rstrip()}\n```")
    if docs.get("references"):
        parts.append("### References\n\n" + "\n".join(f"- <{r}>" for r in docs["references"]))
    return "\n\n".join(parts)


def rule_page(rule: Rule) -> str:
    """The Markdown page of one rule, as docs/rules/<id>.md holds it."""
    lines = [
        f"# {rule.id}",
        "",
        f"Default severity: **{rule.severity}** · family: {rule.family} · precision: "
        f"{rule.precision} · tags: {', '.join(rule.tags) or 'none'}",
        "",
        render_markdown(rule),
    ]
    if rule.params:
        lines += ["", "### Parameters", "", "Set in config under `params.<rule-id>`.", ""]
        for name, param in rule.params.items():
            desc = f": {' '.join(param.description.split())}" if param.description else ""
            lines.append(f"- `{name}` ({param.type}, default `{param.default!r}`){desc}")
    lines += ["", f"Print it with `sidecarlint explain {rule.id}`.", ""]
    return "\n".join(lines)


def index_page(rules: list[Rule]) -> str:
    """docs/rules/README.md: one row per rule."""
    lines = [
        "# Rules",
        "",
        "Generated from `rules/*.yaml` by `python -m sidecarlint.explain docs/rules`.",
        "",
        "| rule | severity | family | summary |",
        "|---|---|---|---|",
    ]
    for rule in rules:
        summary = rule.summary.replace("|", "\\|")
        lines.append(f"| [{rule.id}]({rule.id}.md) | {rule.severity} | {rule.family} | {summary} |")
    return "\n".join(lines) + "\n"


def pages(rules: list[Rule]) -> dict[str, str]:
    """File name → content of every page of docs/rules/."""
    ordered = sorted(rules, key=lambda r: r.id)
    found = {f"{rule.id}.md": rule_page(rule) for rule in ordered}
    found["README.md"] = index_page(ordered)
    return found


def main(argv: list[str]) -> int:
    import os

    from sidecarlint.rules import builtin_rules

    folder = argv[0] if argv else os.path.join("docs", "rules")
    os.makedirs(folder, exist_ok=True)
    wanted = pages(builtin_rules())
    for name in os.listdir(folder):
        if name.endswith(".md") and name not in wanted:
            os.remove(os.path.join(folder, name))  # a rule that is gone
    for name, text in wanted.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    print(f"wrote {len(wanted)} pages to {folder}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
