"""A Code 128 decoder for tests: reads the bars of an SVG from `code128_svg` back into its text."""

import re

from onecard.loyalty.cards.barcodes import CODE_B, PATTERNS, START_B, START_C, STOP

BAR = re.compile(r'<rect x="(\d+)" y="0" width="(\d+)" height="\d+"/>')


def decode_svg(svg: str) -> str:
    """Read a barcode SVG back: bar positions → element widths → symbols → text, checking the check symbol."""
    bars = [(int(x), int(w)) for x, w in BAR.findall(svg)]
    widths = []
    for index, (x, width) in enumerate(bars):
        if index:
            previous_x, previous_width = bars[index - 1]
            widths.append(x - previous_x - previous_width)
        widths.append(width)
    text = "".join(str(w) for w in widths)
    symbols = [text[i : i + 6] for i in range(0, len(text) - 7, 6)]
    assert text[-7:] == PATTERNS[STOP], "no stop pattern"
    values = [PATTERNS.index(s) for s in symbols]
    *data, check = values
    assert check == (data[0] + sum(i * v for i, v in enumerate(data[1:], 1))) % 103, "bad check symbol"
    code, out = data[0], []
    for value in data[1:]:
        if value == CODE_B:
            code = START_B
        elif code == START_C:
            out.append(f"{value:02d}")
        else:
            out.append(chr(value + 32))
    return "".join(out)
