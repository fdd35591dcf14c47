"""User text reaches ACE-Step's text encoder as text, never as special tokens.

The pipeline tokenizes its prompt templates whole, so a prompt or lyrics that
contain ``<|endoftext|>`` (or any other special token's spelling) would be read
as that token: an early end of text, or a control code the user typed. The
templates themselves end with ``<|endoftext|>`` (the caption's followed by a
newline), which must stay the special token. `text_only` makes the pipeline's
tokenizer split special-token spellings in everything before that final marker
into ordinary pieces, and tokenize the marker as before: text without such
spellings gets exactly the ids it got before.
"""

from __future__ import annotations

_CACHE: dict[type, type] = {}


def text_only(tokenizer):
    """The same tokenizer object, whose calls encode user text as text (idempotent)."""
    cls = type(tokenizer)
    if getattr(cls, "_text_only", False):
        return tokenizer
    if cls not in _CACHE:
        _CACHE[cls] = type(f"TextOnly{cls.__name__}", (_TextOnly, cls), {"_text_only": True})
    # The pipeline holds this object (and records its class in its config), so it
    # is changed in place rather than replaced.
    tokenizer.__class__ = _CACHE[cls]
    return tokenizer


class _TextOnly:
    def __call__(self, text=None, *args, **kwargs):
        plain = super().__call__  # type: ignore[misc]
        if args or "split_special_tokens" in kwargs or not isinstance(text, (str, list)):
            return plain(text, *args, **kwargs)
        texts = [text] if isinstance(text, str) else text
        if not all(isinstance(t, str) for t in texts):
            return plain(text, *args, **kwargs)
        ids = [self._ids(t) for t in texts]
        if kwargs.get("truncation") and kwargs.get("max_length"):
            ids = [i[: kwargs["max_length"]] for i in ids]
        return self.pad({"input_ids": ids[0] if isinstance(text, str) else ids},
                        padding=kwargs.get("padding", "longest"),
                        return_tensors=kwargs.get("return_tensors"))

    def _ids(self, text: str) -> list[int]:
        plain = super().__call__  # type: ignore[misc]
        body, marker = text, ""
        for tok in self.all_special_tokens:
            head, found, rest = text.rpartition(tok)
            if found and not rest.strip() and len(head) < len(body):
                body, marker = head, found + rest
        ids = plain(body, split_special_tokens=True, add_special_tokens=False)["input_ids"]
        if marker:
            ids += plain(marker, add_special_tokens=False)["input_ids"]
        return ids
