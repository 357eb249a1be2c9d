# SPDX-License-Identifier: BSD-3-Clause
"""Small, careful text edits of an lbd (libconfig) file for the e2e tests.

There is no libconfig binding in Debian's Python, and the tests must change a
copy of config/demo.conf without knowing its exact layout. The edits below
work on the text: comments are masked first (same length, so offsets stay
valid), then groups are found by brace matching. Callers validate the result
with `lbd --check-config`.

CLI (for demo.sh):  python3 lbdconf.py socket FILE   prints lbd.socket
"""

import re
import sys

DEFAULT_SOCKET = "/run/lbd/lbd.sock"


def mask(text):
    """text with every comment and string body replaced by spaces (newlines
    kept), so that structure can be searched without false hits."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                if out[k] != "\n":
                    out[k] = " "
            i = j + 1
        elif c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


def enclosing(masked, pos, open_ch="{", close_ch="}"):
    """(start, end) of the innermost open_ch..close_ch group around pos;
    end is one past the closing character."""
    depth = 0
    i = pos
    while i >= 0:
        if masked[i] == close_ch and i != pos:
            depth += 1
        elif masked[i] == open_ch:
            if depth == 0:
                break
            depth -= 1
        i -= 1
    if i < 0:
        raise ValueError("no enclosing %s at offset %d" % (open_ch, pos))
    start = i
    depth = 0
    for j in range(start, len(masked)):
        if masked[j] == open_ch:
            depth += 1
        elif masked[j] == close_ch:
            depth -= 1
            if depth == 0:
                return start, j + 1
    raise ValueError("unbalanced %s at offset %d" % (open_ch, start))


def _string_values(text, masked, key):
    """[(start, end)] of the quoted values of `key = "..."` (start/end span the
    quotes), outside comments."""
    res = []
    for m in re.finditer(r"\b%s\s*[=:]\s*\"" % re.escape(key), masked):
        q = m.end() - 1
        e = text.index('"', q + 1)
        res.append((q, e + 1))
    return res


def get_socket(text):
    masked = mask(text)
    vals = _string_values(text, masked, "socket")
    if not vals:
        return DEFAULT_SOCKET
    q, e = vals[0]
    return text[q + 1:e - 1]


def set_socket(text, path):
    """Points lbd.socket at path (adds the setting when the file has none)."""
    masked = mask(text)
    vals = _string_values(text, masked, "socket")
    if vals:
        q, e = vals[0]
        return text[:q] + '"%s"' % path + text[e:]
    m = re.search(r"^\s*lbd\s*[=:]\s*\{", masked, re.M)
    if m:
        return text[:m.end()] + '\n\tsocket = "%s";' % path + text[m.end():]
    return 'lbd = {\n\tsocket = "%s";\n};\n' % path + text


def frontend_span(text, name):
    """(start, end) of the group of the frontend called name."""
    masked = mask(text)
    for q, e in _string_values(text, masked, "name"):
        if text[q + 1:e - 1] == name:
            return enclosing(masked, q)
    raise ValueError("frontend %r not found" % name)


def _drop_list_item(text, masked, start, end):
    """Removes text[start:end], a list element, with the comma that separates
    it from its neighbour (the following one, else the preceding one)."""
    j = end
    while j < len(masked) and masked[j].isspace():
        j += 1
    if j < len(masked) and masked[j] == ",":
        return text[:start] + text[j + 1:]
    i = start - 1
    while i >= 0 and masked[i].isspace():
        i -= 1
    if i >= 0 and masked[i] == ",":
        return text[:i] + text[end:]
    return text[:start] + text[end:]


def remove_target(text, frontend, address):
    """Removes every target with this address from the frontend's target list.
    Targets may be groups ({ address = "A"; port = P; ... }) or strings
    ("A:P" or "A:P weight"). Raises ValueError when there is none."""
    removed = 0
    while True:
        fs, fe = frontend_span(text, frontend)
        masked = mask(text)
        hit = None
        for m in re.finditer(r'"%s(?=[":\s])' % re.escape(address), text[fs:fe]):
            pos = fs + m.start()
            if masked[pos] == '"':
                # a real opening quote: comments are masked to spaces
                hit = pos
                break
        if hit is None:
            break
        before = masked[:hit].rstrip()
        if before.endswith("=") or before.endswith(":"):
            # address = "A" inside a target group: drop the group
            s, e = enclosing(masked, hit)
        else:
            # a bare "A:P" string in a list
            e = text.index('"', hit + 1) + 1
            s = hit
        text = _drop_list_item(text, masked, s, e)
        removed += 1
    if not removed:
        raise ValueError("no target %s in frontend %r" % (address, frontend))
    return text


def main(argv):
    if len(argv) == 3 and argv[1] == "socket":
        with open(argv[2]) as f:
            print(get_socket(f.read()))
        return 0
    print("usage: lbdconf.py socket FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
