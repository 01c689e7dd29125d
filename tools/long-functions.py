#!/usr/bin/env python3
"""Lists C and C++ function bodies longer than N lines, longest first.

    tools/long-functions.py [--max N] [--all] PATH...

PATH is a file or a directory (searched recursively for .c, .h, .cpp, .cc). A function's length
is the lines of its body from the opening brace to the closing brace, both included. Exits 1
when a function is over the limit (default 80), so CI or a pre-commit hook can use it.

It reads the code with a small brace matcher, not a compiler: comments, strings and
preprocessor lines are skipped; a top-level brace block is a function body when the text
before it ends with a parameter list (optionally followed by C++ qualifiers), which also
covers C++ functions written on one line. `namespace` and `extern "C"` blocks are looked into.
Plain python3, no third-party modules.
"""
import argparse
import os
import re
import signal
import sys

SOURCE_SUFFIXES = ('.c', '.h', '.cpp', '.cc')
# Text that may follow a C++ parameter list before the body.
CPP_QUALIFIERS = re.compile(r'\)\s*(const|noexcept|override|final|mutable|&|&&|\s)*'
                            r'(->\s*[\w:<>,\s*&]+)?\s*$')
TRANSPARENT_BLOCK = re.compile(r'(\bnamespace\b[\w:\s]*|\bextern\s*"[^"]*")\s*$')
NAME_BEFORE_PARAMETERS = re.compile(r'([A-Za-z_~][\w:~]*)\s*(<[^()]*>)?\s*$')


def strip_code(text):
    """Returns text with comments, string and character literals and preprocessor lines
    replaced by spaces, newlines kept, so offsets and line numbers stay the same."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == '#':
            # A directive runs to the end of the line, continued by backslashes.
            while i < n and not (text[i] == '\n' and text[i - 1] != '\\'):
                out.append('\n' if text[i] == '\n' else ' ')
                i += 1
            continue
        if c == '/' and text.startswith('//', i):
            while i < n and text[i] != '\n':
                out.append(' ')
                i += 1
            continue
        if c == '/' and text.startswith('/*', i):
            end = text.find('*/', i + 2)
            end = n if end < 0 else end + 2
            out.extend('\n' if ch == '\n' else ' ' for ch in text[i:end])
            i = end
            continue
        if c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
            out.extend('\n' if ch == '\n' else ' ' for ch in text[i:j])
            # Keep the quotes so `extern "C"` stays recognisable.
            out[i] = c
            if j - 1 > i and text[j - 1] == c:
                out[j - 1] = c
            i = j
            continue
        if c == '\n':
            at_line_start = True
        elif not c.isspace():
            at_line_start = False
        out.append(c)
        i += 1
    return ''.join(out)


def function_name(header):
    """The identifier right before the parameter list that ends a function's header."""
    close = header.rfind(')')
    depth = 0
    for j in range(close, -1, -1):
        depth += {')': 1, '(': -1}.get(header[j], 0)
        if depth == 0:
            match = NAME_BEFORE_PARAMETERS.search(header[:j])
            return match.group(1) if match else '?'
    return '?'


def function_bodies(text):
    """Yields (name, first_line, length) for each function body in a source text."""
    code = strip_code(text)
    line_of = []  # line number of every offset, built lazily below
    line = 1
    for ch in code:
        line_of.append(line)
        if ch == '\n':
            line += 1
    depth = 0              # brace depth, not counting transparent blocks
    transparent = []       # depths at which a namespace / extern "C" block was opened
    header_start = 0       # where the text leading to the next top-level brace starts
    body_open = None       # (name, offset) of the function body being read
    for i, ch in enumerate(code):
        if ch == '{':
            if depth == 0 and body_open is None:
                header = code[header_start:i]
                if TRANSPARENT_BLOCK.search(header):
                    transparent.append(depth)
                    header_start = i + 1
                    continue
                if CPP_QUALIFIERS.search(header):
                    body_open = (function_name(header), i)
            depth += 1
        elif ch == '}':
            if depth == 0 and transparent:
                transparent.pop()
                header_start = i + 1
                continue
            depth -= 1
            if depth == 0:
                if body_open is not None:
                    name, start = body_open
                    yield name, line_of[start], line_of[i] - line_of[start] + 1
                    body_open = None
                header_start = i + 1
        elif ch == ';' and depth == 0:
            header_start = i + 1


def source_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, files in os.walk(path):
                for name in sorted(files):
                    if name.endswith(SOURCE_SUFFIXES):
                        yield os.path.join(root, name)
        else:
            yield path


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--max', type=int, default=80, help='longest allowed body (lines)')
    parser.add_argument('--all', action='store_true', help='list every function, not only long ones')
    parser.add_argument('paths', nargs='+')
    args = parser.parse_args()
    found = []
    for path in source_files(args.paths):
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        for name, line, length in function_bodies(text):
            found.append((length, path, line, name))
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    too_long = [item for item in found if item[0] > args.max]
    for length, path, line, name in (found if args.all else too_long):
        print(f'{length:5d}  {path}:{line}  {name}')
    if not args.all:
        longest = found[0] if found else None
        summary = f'{len(too_long)} function(s) over {args.max} lines'
        if longest:
            summary += f'; longest {longest[0]} ({longest[3]}, {longest[1]}:{longest[2]})'
        print(summary, file=sys.stderr)
    return 1 if too_long else 0


if __name__ == '__main__':
    sys.exit(main())
