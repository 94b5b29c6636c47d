"""Reading untrusted XML bodies without expanding anything.

Why defusedxml first: wechatpy parses with xmltodict (expat), which would expand internal
entities. Every body is parsed by defusedxml with DTDs forbidden, so a DOCTYPE, an entity
declaration (billion laughs) or an external reference (XXE) is refused before wechatpy ever
sees the text. Only then is the flat ``<xml>`` document handed on.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .errors import BadRequest

__all__ = ["cdata_safe", "parse_flat_xml"]


def parse_flat_xml(body: bytes | str) -> dict[str, str]:
    """Parse a WeChat ``<xml>`` document into ``{tag: text}`` of its direct children.

    :raises BadRequest: malformed XML, a DOCTYPE/entity, or a root other than ``<xml>``.
    """
    if not body:
        raise BadRequest("empty body")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadRequest(f"refused XML construct: {type(exc).__name__}") from exc
    except (ParseError, ValueError) as exc:
        raise BadRequest("malformed XML") from exc
    if root.tag != "xml":
        raise BadRequest("root element is not <xml>")
    return {child.tag: (child.text or "") for child in root}


def cdata_safe(text: str) -> str:
    """Make ``text`` safe inside ``<![CDATA[...]]>``: split any ``]]>`` across two sections.

    wechatpy's reply fields wrap text in CDATA without escaping, so a user-echoed ``]]>``
    would end the section early and break the reply XML. Splitting keeps the text exact.
    """
    return text.replace("]]>", "]]]]><![CDATA[>")
