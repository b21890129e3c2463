import unittest

from slugify import slugify


class SlugifyTest(unittest.TestCase):
    def test_simple_title(self):
        self.assertEqual(slugify("Hello World"), "hello-world")

    def test_already_a_slug(self):
        self.assertEqual(slugify("already-a-slug"), "already-a-slug")

    def test_digits_are_kept(self):
        self.assertEqual(slugify("Top 10 Tips"), "top-10-tips")

    def test_accents_are_removed(self):
        self.assertEqual(slugify("Crème Brûlée"), "creme-brulee")
        self.assertEqual(slugify("naïve café"), "naive-cafe")

    def test_repeated_separators_collapse(self):
        self.assertEqual(slugify("a  --  b"), "a-b")

    def test_leading_and_trailing_separators_are_trimmed(self):
        self.assertEqual(slugify("  Hello, World!  "), "hello-world")

    def test_custom_separator(self):
        self.assertEqual(slugify("Hello big World", separator="_"), "hello_big_world")

    def test_max_length_does_not_end_with_separator(self):
        self.assertEqual(slugify("hello big world", max_length=10), "hello-big")

    def test_nothing_left(self):
        self.assertEqual(slugify(""), "")
        self.assertEqual(slugify("!!!"), "")


if __name__ == "__main__":
    unittest.main()
