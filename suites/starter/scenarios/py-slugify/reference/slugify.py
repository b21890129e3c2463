"""Turn arbitrary titles into URL slugs."""

import re
import unicodedata


def slugify(text, separator="-", max_length=None):
    """Return a lower-case ASCII slug of ``text``.

    Accented letters lose their accents, every run of other characters becomes one
    ``separator``, and the slug never starts or ends with a separator. With ``max_length``
    the slug is cut to at most that many characters (again without a trailing separator).

    >>> slugify("Crème Brûlée -- a recipe!")
    'creme-brulee-a-recipe'
    """
    # Split accented letters into letter + combining mark, then drop everything non-ASCII.
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)
    if max_length:
        text = text[:max_length].rstrip(separator)
    return text
