"""Text that came from outside (a URL, a file, an exception) shown as literal text, never as markup.

Streamlit renders st.warning, st.error, st.info and st.caption bodies as markdown: a link, an image
or a `:red[...]` directive in a shared URL would be rendered as one. `plain` escapes every ASCII
punctuation character (CommonMark lets any of them be backslash-escaped) and flattens newlines.
GitHub-flavoured markdown also turns bare `https://…`, `www.…` and `a@b.c` in the resulting text
into links, escapes or not, so a zero-width space (U+200B) goes inside those three triggers: what the
visitor sees is exactly the characters that were sent, and none of them is a link.
"""

from __future__ import annotations

import re
import string

ZWSP = "\u200b"
_AUTOLINK = re.compile(r"(?i)(?<=h)(?=ttps?\\:)|(?<=w)(?=ww\\\.)|(?<=\\@)")

_ESCAPES = {ord(c): "\\" + c for c in string.punctuation}
_ESCAPES.update({ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})


def plain(text: str) -> str:
    """Markdown that displays `text` literally (no links, images, HTML, formulas or directives)."""
    return _AUTOLINK.sub(ZWSP, str(text).translate(_ESCAPES))
