"""A rule's documentation as text, for `sidecarlint explain` and the SARIF help."""

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
