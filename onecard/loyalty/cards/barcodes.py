"""Code 128 barcodes as inline SVG, for the printable card sheets (no image library, no network).

Card numbers are all digits, so they go in code set C (two digits per symbol); an odd digit count
ends with a switch to set B for the last digit. Any other printable ASCII text uses set B.
The symbol table is ISO/IEC 15417: six alternating bar/space widths per value, 11 modules each;
the stop pattern has seven widths (13 modules).
"""

from django.utils.html import escape

PATTERNS = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)  # fmt: skip
CODE_B, START_B, START_C, STOP = 100, 104, 105, 106
QUIET_ZONE = 10  # modules of white either side, as the standard asks


def code128_values(text: str) -> list[int]:
    """The symbol values of `text`: start, data, check symbol, stop."""
    if not text or any(not 32 <= ord(char) <= 126 for char in text):
        raise ValueError("Code 128 here encodes 1 or more printable ASCII characters")
    if text.isdigit() and len(text) >= 2:
        even = len(text) - len(text) % 2
        values = [START_C] + [int(text[i : i + 2]) for i in range(0, even, 2)]
        if even < len(text):
            values += [CODE_B, ord(text[-1]) - 32]
    else:
        values = [START_B] + [ord(char) - 32 for char in text]
    check = (values[0] + sum(position * value for position, value in enumerate(values[1:], 1))) % 103
    return [*values, check, STOP]


def code128_widths(text: str) -> str:
    """Alternating bar and space widths in modules, bar first ("211232112232..." for "12...")."""
    return "".join(PATTERNS[value] for value in code128_values(text))


def code128_svg(text: str, *, module=1, height=40, label=None) -> str:
    """An inline <svg> of `text`'s barcode; one module is `module` user units wide, bars are black rects."""
    x, rects = QUIET_ZONE, []
    for index, width in enumerate(code128_widths(text)):
        width = int(width)
        if index % 2 == 0:
            rects.append(f'<rect x="{x * module}" y="0" width="{width * module}" height="{height}"/>')
        x += width
    total = (x + QUIET_ZONE) * module
    title = escape(label if label is not None else text)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="barcode" viewBox="0 0 {total} {height}" '
        f'width="{total}" height="{height}" role="img" aria-label="{title}" shape-rendering="crispEdges">'
        f'<rect x="0" y="0" width="{total}" height="{height}" fill="#fff"/><g fill="#000">'
        f"{''.join(rects)}</g></svg>"
    )


def qr_svg(text: str) -> str:
    """The static QR code of `text` (a card number) as inline SVG: error correction M, 2-module quiet zone."""
    import segno

    return segno.make_qr(text, error="m").svg_inline(scale=1, border=2, omitsize=True)
