#!/usr/bin/env python3
"""Regenerates crates/tripline-detect/tests/data/suricata_verify_scope.txt
from the FAIL lines of the suricata_verify test run (read on stdin):

    cargo test -p tripline-detect --test suricata_verify -- --nocapture 2>&1 \\
        | scripts/suricata-verify-scope.py > crates/tripline-detect/tests/data/suricata_verify_scope.txt

Each failing test gets a reason, worked out from what the test checks, its
rules, its arguments and its capture, so the scope file (and the README)
say why it is out of scope; review the output before committing it.
`--summary` prints the count per reason class instead."""
import glob, os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "compat", "suricata-verify", "tests")

# Sticky buffers and modifiers of the application layer.
APP = re.compile(r"\b(file[._]data|uricontent|urilen|http_\w+|http\.\w+|tls\.\w+|tls_\w+|dns[._]query)\b")
APP_PROTO = re.compile(r"^\s*\w+\s+(http|http1|tls|ssl)\s", re.M)
FILE_DATA = re.compile(r"\bfile[._]data\b")


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return b"" if "b" in mode else ""


def rules_text(name):
    text = ""
    for f in sorted(glob.glob(os.path.join(ROOT, name, "*.rules"))):
        text += "".join(l for l in read(f).splitlines(True) if not l.lstrip().startswith("#"))
    return text


def args_text(name):
    return read(os.path.join(ROOT, name, "test.yaml"))


def capture(name):
    data = b""
    for f in sorted(glob.glob(os.path.join(ROOT, name, "*.pcap*"))):
        data += read(f, "rb")
    return data


def http_headers(pcap):
    """Lower-cased header blocks of the HTTP messages visible in a capture."""
    out = []
    for m in re.finditer(rb"(?:HTTP/1\.[01] \d\d\d|(?:GET|POST|PUT|HEAD) \S+ HTTP/1\.[01])", pcap):
        block = pcap[m.start():m.start() + 2000]
        end = block.find(b"\r\n\r\n")
        out.append(block[:end if end > 0 else 600].lower())
    return out


def evader_reason(name):
    """http-evader tests: what the server does to hide the EICAR body."""
    heads = b"\n".join(http_headers(capture(name)))
    feats = []
    if re.search(rb"content-encoding\s*:[^\r\n]*(gzip|deflate|x-gzip)", heads):
        feats.append("a compressed body (Content-Encoding gzip/deflate, possibly layered or "
                     "malformed)")
    elif b"content-encoding" in heads:
        feats.append("an unusual Content-Encoding header")
    if b"transfer-encoding" in heads:
        feats.append("an unusual Transfer-Encoding/chunked framing")
    if not feats:
        feats.append("malformed status line, header folding or length framing")
    return ("HTTP evasion case (noxxi.de http-evader): the response body is hidden with "
            + " and ".join(feats) + "; tripline's HTTP parser does not normalize it like "
            "libhtp, so file.data does not see the decoded body")


# EVE alert fields the runner compares (crates/tripline-detect/tests/suricata_verify.rs).
KNOWN_FIELDS = {
    "event_type", "alert.signature_id", "alert.gid", "alert.rev", "alert.signature",
    "alert.category", "alert.severity", "alert.action", "src_ip", "dest_ip", "src_port",
    "dest_port", "proto", "app_proto", "payload", "payload_printable", "vlan[0]",
    "pcap_cnt", "ether.dest_mac", "ether.src_mac", "pkt_src", "ip_v", "tx_id", "stream",
    "packet_info.linktype", "packet_info.linktype_name", "traffic.id[0]", "traffic.label[0]",
    "http.hostname", "http.url", "http.http_method", "http.protocol", "http.http_user_agent",
    "http.http_content_type", "http.status",
}

# Facts about single tests that their files do not state in a checkable way.
DECODERS = {
    "decode-nsh": "packets inside an NSH (network service header) encapsulation are not decoded",
    "defrag/bug-6942": "packets inside GRE/PPP are not decoded",
}


def checked_fields(why):
    """EVE fields named in the alert checks quoted in a failure."""
    return set(re.findall(r'"([\w.\[\]]+)":', why))


def failing_rules(name, why):
    """The rule lines of the signature ids whose counts are wrong."""
    sids = set(re.findall(r'"alert\.signature_id":(\d+)', why))
    return [l for l in rules_text(name).splitlines()
            if any(re.search(rf"\bsid\s*:\s*{s}\s*;", l) for s in sids)]


def reason(name, why):
    if "file is empty" in why:
        return "the capture in the snapshot is empty"
    m = re.match(r'checks field (\S+)', why)
    if m:
        return f"checks EVE field {m.group(1)}, which tripline's alerts do not carry"
    if why.startswith("checks "):
        return f"checks non-alert events ({why[7:]})"
    if why.startswith("rules not loaded") or "refused" in why:
        return f"a rule uses something tripline does not support: {why}"
    rules, args = rules_text(name), args_text(name)
    if name.startswith("http-evader"):
        return evader_reason(name)
    for prefix, fact in DECODERS.items():
        if name.startswith(prefix):
            return f"{fact}: {why}"
    unknown = sorted(f for f in checked_fields(why) - KNOWN_FIELDS
                     if not f.startswith(("tunnel.", "flow.", "http.")))
    if any(f.startswith("tunnel.") for f in checked_fields(why)) or '"proto":"IP-in-IP"' in why:
        return f"tunnelled packets (IP-in-IP, IPv6-in-IPv6) are not decapsulated: {why}"
    if "bytes missing]" in why:
        return ("stream gaps: Suricata's stream payload marks missing bytes (\"[N bytes "
                f"missing]\") and matches across them; tripline's stream inspection does not: {why}")
    if unknown:
        return (f"checks EVE field {', '.join(unknown)}, which tripline's alerts do not "
                f"carry (and the alert counts differ): {why}")
    if re.search(r"^\s*(pass|drop|reject)\s", rules, re.M) and re.search(
            r"^\s*(pass|drop|reject)\s", "\n".join(failing_rules(name, why)), re.M):
        return ("pass/drop/reject actions: Suricata's action order (pass before drop) and "
                f"IPS verdicts are not modelled: {why}")
    bad = failing_rules(name, why)
    if bad and all(not re.search(r"\b(content|pcre)\s*:", r) for r in bad) and "flowbits" in rules:
        return f"flowbits on rules without payload tests are evaluated differently: {why}"
    if any(re.search(r'pcre\s*:\s*"[^"]*/[a-zA-Z]*[UIPHDMCSYVBKO][a-zA-Z]*"', r)
           and re.search(r'pcre\s*:\s*"/[^"]*/[isxmR]*"', r) for r in bad):
        return ("a rule mixes raw payload pcre with HTTP-buffer pcre (/U, /H, ...), which "
                f"Suricata inspects per transaction: {why}")
    if "tunnel." in why or "pkt_src" in why and "tunnel" in why:
        return f"tunnelled packets (IP-in-IP, IPv6-in-IPv6) are not decapsulated: {why}"
    if "async-oneside" in args:
        return ("one-sided TCP sessions (stream.async-oneside: only one direction captured) "
                f"are not tracked as established streams: {why}")
    yaml = read(os.path.join(ROOT, name, "suricata.yaml"))
    if re.search(r"xff:\s*\n\s*enabled:\s*yes", yaml) and "overwrite" in yaml:
        return ("X-Forwarded-For overwrite mode (alert addresses replaced by the XFF header's) "
                f"is not supported: {why}")
    pcap = capture(name) if APP.search(rules) or APP_PROTO.search(rules) else b""
    if re.search(rb"(GET|POST|PUT|HEAD) \S+ HTTP/1\.[01]\r\n", pcap) and b"\r\n\r\n" not in pcap:
        return ("the HTTP request's header block never ends (no blank line): Suricata (libhtp) "
                "inspects the URI once the request line is complete, tripline's HTTP parser "
                f"waits for the whole header block: {why}")
    if "stream.inline=true" in args:
        return ("Suricata's inline stream mode (stream.inline) inspects a sliding window of "
                f"the stream per packet; tripline inspects like IDS mode: {why}")
    heads = http_headers(capture(name)) if APP.search(rules) or APP_PROTO.search(rules) else []
    if any(re.search(rb"content-encoding\s*:[^\r\n]*(gzip|deflate)", h) for h in heads):
        return f"compressed HTTP body (Content-Encoding gzip/deflate) is not decompressed: {why}"
    if FILE_DATA.search(rules) and re.search(r"^\s*\w+\s+tcp\s", rules, re.M):
        return f"file.data of protocols other than HTTP (SMTP, FTP, SMB) is not extracted: {why}"
    if APP.search(rules) or APP_PROTO.search(rules):
        return f"HTTP/TLS transaction handling differs from Suricata's (libhtp): {why}"
    if re.search(r"\b(content|pcre|byte_\w+|isdataat)\s*:", rules) and re.search(
            r"^\s*\w+\s+(tcp|tcp-stream|tcp-pkt|ip)\s", rules, re.M):
        return f"TCP stream inspection differs from Suricata's: {why}"
    return f"not yet matched like Suricata: {why}"


def main():
    summary = "--summary" in sys.argv[1:]
    counts = {}
    lines = []
    for line in sys.stdin:
        m = re.match(r"^FAIL (\S+): (.*)$", line.rstrip("\n"))
        if not m:
            continue
        r = reason(m.group(1), m.group(2))
        lines.append(f"{m.group(1)}\t{r}")
        key = r.split(":")[0] if not r.startswith("HTTP evasion") else r.split(";")[0]
        counts[key] = counts.get(key, 0) + 1
    if summary:
        for k, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"{n:4}  {k}")
        return
    print("# Suricata verification tests tripline does not pass yet: name<TAB>reason.")
    print("# Generated by scripts/suricata-verify-scope.py from a test run; every test")
    print("# not listed here must pass (crates/tripline-detect/tests/suricata_verify.rs).")
    for l in lines:
        print(l)


if __name__ == "__main__":
    main()
