#!/usr/bin/env python3
"""Writes the usage example of core/latent.h's opening comment out as a C file, so the test
unit/example-usage compiles and runs the very text users read (it cannot drift from the API).

    extract-example.py HEADER OUTPUT

The example is the indented block of the header's first comment, from its
`#include "latent.h"` line to the closing brace of `main`. Plain python3."""
import os
import sys

INDENT = ' *   '
FIRST = INDENT + '#include "latent.h"'
LAST = INDENT + '}'


def extract(header_text):
    comment = header_text[:header_text.index('*/')]
    lines = comment.split('\n')
    start = lines.index(FIRST)
    end = lines.index(LAST, lines.index(INDENT + 'main (int argc, char **argv)', start))
    code = []
    for line in lines[start:end + 1]:
        if line.rstrip() == ' *':
            code.append('')
        elif line.startswith(INDENT):
            code.append(line[len(INDENT):])
        else:
            raise SystemExit(f'extract-example.py: line outside the example\'s indent: {line!r}')
    return '\n'.join(code) + '\n'


def main():
    header, output = sys.argv[1:3]
    with open(header, encoding='utf-8') as f:
        code = extract(f.read())
    with open(output, 'w', encoding='utf-8') as f:
        f.write(f'/* Generated from {os.path.basename(header)} by tests/unit/extract-example.py: '
                'edit the header. */\n')
        f.write(code)


if __name__ == '__main__':
    main()
