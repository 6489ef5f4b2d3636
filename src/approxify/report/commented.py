"""Source of a rewritten function with the comments of the original kept where they were.

``ast.unparse`` drops comments and respells what it writes. Here a statement the rewrite left as
it was is copied from the original file as the user wrote it (when it stays at the same
indentation, so a multi-line string in it keeps its value). The others are written one at a time
(a compound statement as its header, then its bodies written the same way), and each comment of
the original function goes before the first statement that starts below it, at that statement's indentation; a comment
at the end of a line stays at the end of the statement that began on that line, when the rewrite
kept one of the same kind there (a loop whose iterable changed keeps its comment, a statement the
rewrite added before it does not take it).
"""

from __future__ import annotations

import ast
import copy
import io
import linecache
import tokenize
from dataclasses import dataclass

SLOT = "_ax_body_slot_"
INDENT = "    "


@dataclass
class _Comment:
    line: int
    column: int
    text: str
    trailing: bool  # after code on its line


def commented_source(tree: ast.FunctionDef, original: ast.FunctionDef, filename: str) -> str:
    """``tree`` (a rewrite of ``original``, keeping its line numbers) as source, with the comments
    that ``filename`` has inside ``original``'s lines."""
    first = min([original.lineno, *(d.lineno for d in original.decorator_list)])
    comments = [c for c in _comments(filename) if first <= c.line <= original.end_lineno]
    statements = [node for node in ast.walk(original) if isinstance(node, ast.stmt)]
    kinds = {node.lineno: type(node) for node in statements}
    unchanged = {(node.lineno, node.col_offset, type(node)): (ast.dump(node), node.end_lineno) for node in statements}
    starts = sorted({node.lineno for node in statements} | {original.end_lineno + 1})
    writer = _Writer(comments, kinds, unchanged, starts, linecache.getlines(filename))
    lines = writer.statement(tree, "")
    lines += writer.pending(original.end_lineno, "")
    return "\n".join(lines)


def _comments(filename: str) -> list[_Comment]:
    text = "".join(linecache.getlines(filename))
    found: list[_Comment] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                before = token.line[: token.start[1]]
                found.append(_Comment(token.start[0], token.start[1], token.string, bool(before.strip())))
    except (tokenize.TokenError, SyntaxError):  # source not readable as a whole: no comments
        return []
    return found


class _Writer:
    def __init__(self, comments: list[_Comment], kinds: dict[int, type], unchanged: dict,
                 starts: list[int], source: list[str]):
        self.waiting = comments  # in line order; written ones are removed
        self.kinds = kinds
        self.starts = starts  # first lines of the original's statements, and the line after it
        self.unchanged = unchanged  # (line, column, type) -> (ast.dump, last line) of the original's statements
        self.source = source

    def verbatim(self, node: ast.stmt, indent: str) -> list[str] | None:
        """The original lines of ``node`` when the rewrite left it unchanged at its indentation."""
        if not hasattr(node, "lineno") or node.col_offset != len(indent):
            return None
        dump, end = self.unchanged.get((node.lineno, node.col_offset, type(node)), (None, None))
        if dump is None or dump != ast.dump(node) or end is None:
            return None
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
        self.waiting = [c for c in self.waiting if not start <= c.line <= end]  # copied with it
        return [row.rstrip("\r\n") for row in self.source[start - 1 : end]]

    def pending(self, below: int, indent: str) -> list[str]:
        """Comments on lines up to ``below`` not written yet, as lines of their own."""
        ready = [c for c in self.waiting if c.line <= below]
        self.waiting = [c for c in self.waiting if c.line > below]
        return [indent + c.text for c in ready]

    def body(self, statements: list[ast.stmt], indent: str, end: int | None) -> list[str]:
        lines: list[str] = []
        for statement in statements:
            lines += self.statement(statement, indent)
        if end is not None:  # comments closing the block belong to it
            lines += self.pending(end, indent)
            lines += self._closing(statements, end, indent)
        return lines

    def _closing(self, statements: list[ast.stmt], end: int, indent: str) -> list[str]:
        """Comments after the block's last line, before the next statement, indented as deep as
        the block: they close it."""
        column = next((s.col_offset for s in statements if hasattr(s, "lineno")), None)
        following = next(line for line in self.starts if line > end)
        closing = [c for c in self.waiting if column is not None and not c.trailing
                   and end < c.line < following and c.column >= column]
        self.waiting = [c for c in self.waiting if c not in closing]
        return [indent + c.text for c in closing]

    def statement(self, node: ast.stmt, indent: str) -> list[str]:
        line = getattr(node, "lineno", None)
        first = min([line, *(d.lineno for d in getattr(node, "decorator_list", ()))]) if line else None
        lines = self.pending(first - 1, indent) if first else []
        kept = self.verbatim(node, indent)
        if kept is not None:
            return lines + kept
        shell, bodies = _shell(node)
        text = ast.unparse(shell).splitlines()
        trailing = self._trailing(node)
        if trailing:
            text[0] += "  " + trailing
        for row in text:
            stripped = row.strip()
            if stripped.startswith(SLOT):
                inner = row[: len(row) - len(row.lstrip())]
                statements, end = bodies[stripped]
                lines += self.body(statements, indent + inner, end)
            else:
                lines.append(indent + row)
        return lines

    def _trailing(self, node: ast.stmt) -> str:
        line = getattr(node, "lineno", None)
        if line is None or self.kinds.get(line) is not type(node):
            return ""
        found = [c for c in self.waiting if c.trailing and c.line == line]
        if not found:
            return ""
        self.waiting.remove(found[0])
        self.kinds.pop(line)  # one statement takes the comment
        return found[0].text


def _shell(node: ast.stmt) -> tuple[ast.stmt, dict[str, tuple[list[ast.stmt], int | None]]]:
    """A copy of ``node`` whose statement lists are placeholders (``elif`` chains kept), and
    what each placeholder stands for (the statements, and the line their block ends on)."""
    bodies: dict[str, tuple[list[ast.stmt], int | None]] = {}

    def hollow(owner: ast.AST) -> ast.AST:
        owner = copy.copy(owner)
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(owner, field, None)
            if not isinstance(statements, list) or not statements or not isinstance(statements[0], ast.stmt):
                continue
            if field == "orelse" and isinstance(owner, ast.If) and len(statements) == 1 and isinstance(statements[0], ast.If):
                setattr(owner, field, [hollow(statements[0])])  # written as elif
                continue
            name = f"{SLOT}{len(bodies)}"
            end = max((getattr(s, "end_lineno", None) or 0) for s in statements) or None
            bodies[name] = (statements, end)
            setattr(owner, field, [ast.Expr(ast.Name(name, ast.Load()))])
        for field in ("handlers", "cases"):
            if isinstance(getattr(owner, field, None), list):
                setattr(owner, field, [hollow(part) for part in getattr(owner, field)])
        return owner

    return hollow(node), bodies
