"""The parser's view of the token list: lookahead, expectations, and Loki-worded errors.

Syntax errors are raised at once; semantic errors (Loki reports them after parsing, without a line
and column) are collected in `deferred`, so that a syntax error later in the text still wins."""

from typing import NoReturn

from aiops_mcp.query.logql.errors import LogQLSyntaxError
from aiops_mcp.query.logql.grammar import FUNCTIONS, KEYWORDS, MAX_DEPTH, STAGE_WORDS
from aiops_mcp.query.logql.lexer import Lexer, Token


class TokenCursor:
    """A position in the token list of one query, and the errors found so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = Lexer(text).tokens()
        self.index = 0
        self.depth = 0
        self.deferred: list[LogQLSyntaxError] = []

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return tok

    def at_op(self, *ops: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "op" and tok.text in ops

    def at_word(self, *words: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "ident" and tok.text.lower() in words

    def expect_op(self, op: str, expecting: str | None = None) -> Token:
        if not self.at_op(op):
            self.unexpected(self.peek(), expecting or op)
        return self.next()

    def expect_kind(self, kind: str, expecting: str) -> Token:
        if self.peek().kind != kind:
            self.unexpected(self.peek(), expecting)
        return self.next()

    def unexpected(self, tok: Token, expecting: str | None = None, hint: str | None = None) -> NoReturn:
        message = f"syntax error: unexpected {_describe(tok)}"
        if expecting:
            message += f", expecting {expecting}"
        if hint:
            message += f" ({hint})"
        self.fail(tok.pos, message)

    def fail(self, pos: int, message: str) -> NoReturn:
        raise LogQLSyntaxError.at(self.text, pos, message)

    def defer(self, pos: int, message: str) -> None:
        """Record a semantic error (Loki reports these without a line and column)."""
        self.deferred.append(LogQLSyntaxError(f"parse error : {message}", pos))

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(tok.pos, "syntax error: expression nested too deeply")


def _describe(tok: Token) -> str:
    """How Loki's grammar names a token in "unexpected ..." messages."""
    names = {
        "eof": "$end",
        "string": "STRING",
        "number": "NUMBER",
        "duration": "DURATION",
        "bytes": "BYTES",
        "range": "RANGE",
        "flag": "PARSER_FLAG",
    }
    if tok.kind in names:
        return names[tok.kind]
    if tok.kind == "ident":
        lowered = tok.text.lower()
        known = lowered in FUNCTIONS or lowered in STAGE_WORDS or lowered in KEYWORDS
        return lowered if known else "IDENTIFIER"
    return tok.text
