"""Text that came from outside (a URL, a file, an exception) shown as literal text, never as markup.

Streamlit renders st.warning, st.error, st.info and st.caption bodies as markdown: a link, an image
or a `:red[...]` directive in a shared URL would be rendered as one. `plain` escapes every ASCII
punctuation character (CommonMark lets any of them be backslash-escaped) and flattens newlines, so
what the visitor sees is exactly the characters that were sent.
"""

from __future__ import annotations

import string

_ESCAPES = {ord(c): "\\" + c for c in string.punctuation}
_ESCAPES.update({ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})


def plain(text: str) -> str:
    """Markdown that displays `text` literally (no links, images, HTML, formulas or directives)."""
    return str(text).translate(_ESCAPES)
