"""Reading untrusted XML bodies: once, with defusedxml, into a flat ``{tag: text}`` map.

Why we parse ourselves, once: a WeChat push is a flat ``<xml>`` of text fields, and the
dialogue needs a handful of them. Handing the text to wechatpy's ``parse_message`` as
well meant a second parse (xmltodict) of every body, and xmltodict's recursive structure
for nested elements crashed on a ``<Content>`` nested a thousand levels deep (a 500).
So every body is parsed exactly once here, and :mod:`bot.inbound` maps the tags itself.

Why defusedxml: its parser refuses a DOCTYPE, an entity declaration (billion laughs) or
an external reference (XXE) as soon as it meets one, so nothing is ever expanded. We feed
it a parser *target* (:class:`_FlatFields`) instead of building an element tree: only
the direct children of ``<xml>`` are kept, and a malformed shape is refused on the spot:

- child elements inside a field that must be text (``text_tags``), at any depth → 400;
- anything nested deeper than :data:`MAX_DEPTH` (WeChat's own structures, such as
  ``SendPicsInfo/PicList/item``, are 4 levels deep) → 400;
- the same top-level tag twice (which copy would count?) → 400;
- a body that is not UTF-8 (WeChat only sends UTF-8; an ``encoding=`` declaration is
  not honoured) → 400.

Every failure leaves as :class:`~bot.errors.BadRequest`; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Collection
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from .errors import BadRequest

__all__ = ["MAX_DEPTH", "cdata_safe", "parse_flat_xml"]

#: Deepest element nesting accepted, ``<xml>`` counting as 1.
MAX_DEPTH = 16


class _FlatFields:
    """A parser target that keeps the text of each direct child of ``<xml>``.

    Structured children (say ``SendPicsInfo``) are kept with their leading text only
    (usually ``""``); nothing reads them.
    """

    __slots__ = ("fields", "_depth", "_tag", "_parts", "_text_tags")

    def __init__(self, text_tags: Collection[str]) -> None:
        self.fields: dict[str, str] = {}
        self._depth = 0
        self._tag = ""
        self._parts: list[str] = []
        self._text_tags = text_tags

    def start(self, tag: str, attrib: object) -> None:
        depth = self._depth = self._depth + 1
        if depth == 2:
            self._tag = tag
        elif depth == 1:
            if tag != "xml":
                raise BadRequest("root element is not <xml>")
        elif depth == 3 and self._tag in self._text_tags:
            # Only names from text_tags go into the reason: the wire's tags are user data.
            raise BadRequest(f"<{self._tag}> holds elements instead of text")
        elif depth > MAX_DEPTH:
            raise BadRequest("elements nested too deep")

    def data(self, text: str) -> None:
        if self._depth == 2:
            self._parts.append(text)

    def end(self, tag: str) -> None:
        if self._depth == 2:
            if tag in self.fields:
                raise BadRequest("the same element twice")
            self.fields[tag] = "".join(self._parts)
            self._parts.clear()
        self._depth -= 1

    def close(self) -> dict[str, str]:
        return self.fields


def parse_flat_xml(body: bytes | str, text_tags: Collection[str] = ()) -> dict[str, str]:
    """Parse a WeChat ``<xml>`` document into ``{tag: text}`` of its direct children.

    :param text_tags: the tags read as text; one of them holding child elements is malformed.
    :raises BadRequest: not UTF-8, malformed XML, a DOCTYPE/entity/external reference, a
        root other than ``<xml>``, elements in a text field, too deep, a duplicated tag.
    """
    if not body:
        raise BadRequest("empty body")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("body is not UTF-8") from exc
    target = _FlatFields(text_tags)
    try:
        parser = DefusedXMLParser(
            target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        parser.feed(body)
        parser.close()
    except DefusedXmlException as exc:
        raise BadRequest(f"refused XML construct: {type(exc).__name__}") from exc
    except (ParseError, ValueError, LookupError, RecursionError) as exc:
        raise BadRequest("malformed XML") from exc
    return target.fields


def cdata_safe(text: str) -> str:
    """Make ``text`` safe inside ``<![CDATA[...]]>``: split any ``]]>`` across two sections.

    wechatpy's reply fields wrap text in CDATA without escaping, so a user-echoed ``]]>``
    would end the section early and break the reply XML. Splitting keeps the text exact.
    """
    return text.replace("]]>", "]]]]><![CDATA[>")
