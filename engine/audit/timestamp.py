"""RFC 3161 time-stamps of the scheduled digests (hole 8): a trusted third party — the hospital's
time-stamp server (TSA, `QINGLIAN_TSA_URL`) — signs that a digest existed at a moment, so that not even
whoever controls this server's clock and the sink can back-date or re-make one unnoticed.

`stamp` builds the TimeStampReq (DER, written here: a version, the SHA-256 imprint of the digest, a
random nonce, certReq), POSTs it (`application/timestamp-query`), checks the reply's status and that
its token is for this imprint and nonce, and returns the token (base64 DER, a CMS SignedData) with the
time the TSA put in it. The token's signature is checked with the TSA's certificate by any RFC 3161
tool, e.g. `openssl ts -verify -token_in -in TOKEN.der -data DIGEST.json -CAfile tsa-ca.pem`
(docs/security.md); `check_token` re-reads a stored token's imprint against its digest.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timezone

SHA256_OID = bytes.fromhex("0609608648016503040201")      # 2.16.840.1.101.3.4.2.1
CONTENT_TYPE = "application/timestamp-query"
TIMEOUT_SECONDS = 10


class TimestampError(ValueError):
    """The TSA could not be reached, refused, or answered with something that is not our stamp."""


# --- a little DER ----------------------------------------------------------------------------------

def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _integer(value: int) -> bytes:
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")     # room for a sign bit
    return _tlv(0x02, raw)


def _read(data: bytes, pos: int = 0) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at `pos`."""
    if pos + 2 > len(data):
        raise TimestampError("truncated DER")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise TimestampError("unsupported DER length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise TimestampError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements inside [start, end): (tag, element start, content start, content end)."""
    out, pos = [], start
    while pos < end:
        tag, cstart, cend = _read(data, pos)
        out.append((tag, pos, cstart, cend))
        pos = cend
    return out


# --- request and reply -----------------------------------------------------------------------------

def request(imprint: bytes, nonce: int) -> bytes:
    """TimeStampReq { version 1, messageImprint { sha256, imprint }, nonce, certReq TRUE }."""
    algorithm = _tlv(0x30, SHA256_OID + b"\x05\x00")
    message_imprint = _tlv(0x30, algorithm + _tlv(0x04, imprint))
    return _tlv(0x30, _integer(1) + message_imprint + _integer(nonce) + b"\x01\x01\xff")


def read_token(token: bytes) -> dict:
    """The TSTInfo of a token (ContentInfo of a SignedData): {imprint, nonce, serial, time}."""
    _tag, s, e = _read(token)
    content_info = _children(token, s, e)
    if len(content_info) < 2 or content_info[1][0] != 0xA0:
        raise TimestampError("the token is not a CMS ContentInfo")
    _t, _p, s, e = content_info[1]
    signed_data = _children(token, *_read(token, s)[1:])
    encap = next((c for c in signed_data if c[0] == 0x30), None)
    if encap is None:
        raise TimestampError("the token carries no content")
    e_content = _children(token, encap[2], encap[3])
    if len(e_content) < 2 or e_content[1][0] != 0xA0:
        raise TimestampError("the token carries no TSTInfo")
    _tag, os_start, os_end = _read(token, e_content[1][2])          # the OCTET STRING holding TSTInfo
    tst = token[os_start:os_end]
    fields = _children(tst, *_read(tst)[1:])
    if len(fields) < 5:
        raise TimestampError("a TSTInfo too short")
    imprint_parts = _children(tst, fields[2][2], fields[2][3])
    imprint = tst[imprint_parts[1][2]:imprint_parts[1][3]]
    serial = int.from_bytes(tst[fields[3][2]:fields[3][3]], "big")
    gen_time = tst[fields[4][2]:fields[4][3]].decode("ascii")
    nonce = next((int.from_bytes(tst[c[2]:c[3]], "big") for c in fields[5:] if c[0] == 0x02), None)
    return {"imprint": imprint, "nonce": nonce, "serial": serial, "time": _generalized(gen_time)}


def _generalized(text: str) -> str:
    """GeneralizedTime (20261207163000Z, maybe with fractions) as ISO 8601 UTC."""
    main = text.rstrip("Z").split(".")[0]
    return datetime.strptime(main, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc).isoformat()


def read_reply(reply: bytes) -> bytes:
    """The token of a TimeStampResp whose status is granted (0) or grantedWithMods (1)."""
    _tag, s, e = _read(reply)
    parts = _children(reply, s, e)
    if not parts:
        raise TimestampError("an empty reply")
    status_info = _children(reply, parts[0][2], parts[0][3])
    status = int.from_bytes(reply[status_info[0][2]:status_info[0][3]], "big")
    if status not in (0, 1) or len(parts) < 2:
        raise TimestampError(f"the TSA refused the request (status {status})")
    _tag, start, _cs, end = parts[1][0], parts[1][1], parts[1][2], parts[1][3]
    return reply[start:end]


def stamp(url: str, data: bytes) -> dict:
    """Time-stamp `data` (its SHA-256) at the TSA `url`: {tsa, token (base64 DER), time, serial}."""
    import httpx
    imprint = hashlib.sha256(data).digest()
    nonce = secrets.randbits(63)
    try:
        answer = httpx.post(url, content=request(imprint, nonce), headers={"Content-Type": CONTENT_TYPE},
                            timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise TimestampError(f"the TSA could not be reached: {exc}") from None
    if answer.status_code != 200:
        raise TimestampError(f"the TSA answered HTTP {answer.status_code}")
    token = read_reply(answer.content)
    info = read_token(token)
    if info["imprint"] != imprint:
        raise TimestampError("the TSA stamped something else than this digest")
    if info["nonce"] != nonce:
        raise TimestampError("the TSA's reply is not for this request (nonce differs)")
    return {"tsa": url, "token": base64.b64encode(token).decode("ascii"), "time": info["time"],
            "serial": info["serial"]}


def check_token(stamped: dict, data: bytes) -> str | None:
    """Why a stored stamp does not fit `data` (its SHA-256), or None when its imprint is that digest."""
    try:
        info = read_token(base64.b64decode(stamped["token"]))
    except (TimestampError, ValueError, KeyError, IndexError) as exc:
        return f"the time-stamp token cannot be read: {exc}"
    if info["imprint"] != hashlib.sha256(data).digest():
        return "the time-stamp token is for another digest"
    return None
