"""Line breaking as a reader expects it, for Chinese and English alike (no Kivy here).

Kivy wraps at spaces only; a run without spaces (any Chinese sentence, or a word wider than its
box) is cut wherever the width ends, so a line can start with "，" or "）" and a word can be split
("Overvi" / "ew"). :func:`wrap` breaks between Chinese characters and at spaces, never before
closing punctuation or after opening punctuation (the rule Chinese typesetting calls 避头尾), never
inside a word unless the word alone is wider than the line, and it does not leave one Chinese
character alone on a last line ("天）"). The kiosk's labels hand Kivy the lines it returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Must not start a line: they close what the line before opened, or end its sentence.
CLOSING = frozenset("，。、；：？！）》」』】〕〉”’…,.;:?!)]}%")
# Must not end a line: they open what the next line holds.
OPENING = frozenset("（《「『【〔〈“‘([{")
# Inside a word wider than a whole line, a break may follow one of these (paths, versions, URLs).
SOFT_BREAK_AFTER = frozenset("-/._:,=&?")

Measure = Callable[[str], float]

# A Latin word (letters, digits and the symbols that join them) or any other single character.
_ATOM = re.compile(r"[!-~]+|\s|.", re.DOTALL)


def is_cjk(char: str) -> bool:
    """Tell whether ``char`` is a Chinese character or full-width sign (breakable either side)."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x3000 <= code <= 0x303F
        or 0x20000 <= code <= 0x2FFFF
    )


def _atoms(paragraph: str) -> list[tuple[bool, str]]:
    """Return the paragraph's unbreakable pieces, each with whether a space precedes it.

    Closing punctuation sticks to the piece before it, opening punctuation to the piece after.
    """
    atoms: list[tuple[bool, str]] = []
    spaced = opening_spaced = False
    opening = ""
    for match in _ATOM.finditer(paragraph):
        piece = match.group()
        if piece.isspace():
            spaced = True
            continue
        if piece in CLOSING and atoms and not opening:
            space, text = atoms[-1]
            atoms[-1] = (space, text + (" " if spaced else "") + piece)
            spaced = False
            continue
        if piece in OPENING:
            if not opening:
                opening_spaced = spaced
            opening += piece
            spaced = False
            continue
        if opening:
            atoms.append((opening_spaced, opening + piece))
            opening = ""
        else:
            atoms.append((spaced, piece))
        spaced = False
    if opening:
        atoms.append((opening_spaced, opening))
    return atoms


def _join(atoms: list[tuple[bool, str]]) -> str:
    return "".join(
        (" " if spaced and index else "") + text for index, (spaced, text) in enumerate(atoms)
    )


def _split_wide(word: str, width: float, measure: Measure) -> list[str]:
    """Cut a word wider than a line: after a soft break sign if one fits, else where it must."""
    pieces = []
    while word and measure(word) > width:
        cut = 1
        for end in range(1, len(word)):
            if measure(word[:end]) > width:
                break
            cut = end
        soft = [i + 1 for i in range(cut) if word[i] in SOFT_BREAK_AFTER and i + 1 < len(word)]
        if soft and soft[-1] < len(word):
            cut = soft[-1]
        pieces.append(word[:cut])
        word = word[cut:]
    if word:
        pieces.append(word)
    return pieces


def _lonely(line: list[tuple[bool, str]]) -> bool:
    """Tell whether ``line`` is one Chinese character, with its punctuation, alone."""
    if len(line) != 1:
        return False
    letters = [c for c in line[0][1] if c not in CLOSING and c not in OPENING]
    return len(letters) == 1 and is_cjk(letters[0])


def _fill(
    atoms: list[tuple[bool, str]], width: float, measure: Measure
) -> list[list[tuple[bool, str]]]:
    lines: list[list[tuple[bool, str]]] = []
    line: list[tuple[bool, str]] = []
    for spaced, text in atoms:
        if line and measure(_join([*line, (spaced, text)])) <= width:
            line.append((spaced, text))
            continue
        if line:
            lines.append(line)
        pieces = _split_wide(text, width, measure) if measure(text) > width else [text]
        for piece in pieces[:-1]:
            lines.append([(False, piece)])
        line = [(spaced, pieces[-1])]
    if line:
        lines.append(line)
    # A last line of one character looks like a mistake: give it company from the line above.
    if len(lines) >= 2 and _lonely(lines[-1]) and len(lines[-2]) >= 2:
        moved = lines[-2].pop()
        if measure(_join([moved, *lines[-1]])) <= width:
            lines[-1].insert(0, moved)
        else:
            lines[-2].append(moved)
    return lines


def wrap(text: str, width: float, measure: Measure) -> str:
    """Return ``text`` with a newline wherever a line of ``width`` must end.

    ``measure`` gives the width of a string in the label's font. Existing newlines stay.
    """
    if width <= 0:
        return text
    out = []
    for paragraph in text.split("\n"):
        if measure(paragraph) <= width:
            out.append(paragraph)
            continue
        lines = _fill(_atoms(paragraph), width, measure)
        out.append("\n".join(_join(line) for line in lines))
    return "\n".join(out)
