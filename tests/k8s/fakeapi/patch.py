# SPDX-License-Identifier: BSD-3-Clause
"""The three PATCH flavours kube-apiserver accepts for built-in types.

merge-patch (RFC 7386), JSON patch (RFC 6902) and strategic-merge-patch with
the directives kubectl and controllers send ($patch, $retainKeys,
$setElementOrder/, $deleteFromPrimitiveList/). Strategic merge needs to know
which lists merge by key: MERGE_KEYS holds that for the fields of the types
this server serves (from the patchStrategy/patchMergeKey tags of k8s.io/api);
every other list is atomic and replaced whole, as the real server does.
"""
import copy
import json


class PatchError(Exception):
    """code 400 = malformed patch, 422 = patch did not apply."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# resource -> {path tuple: merge key, or "" for a set of primitives}
_META = {("metadata", "finalizers"): "", ("metadata", "ownerReferences"): "uid"}
MERGE_KEYS = {
    "services": {**_META, ("spec", "ports"): "port", ("status", "conditions"): "type"},
    "nodes": {**_META, ("spec", "podCIDRs"): "", ("status", "conditions"): "type",
              ("status", "addresses"): "type"},
    "endpointslices": dict(_META),
    "events": dict(_META),
    "namespaces": {**_META, ("status", "conditions"): "type"},
}


def merge_patch(orig, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---------------------------------------------------------------- JSON patch

def _unescape(tok):
    return tok.replace("~1", "/").replace("~0", "~")


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(422, "invalid JSON pointer %r" % path)
    return [_unescape(t) for t in path[1:].split("/")]


def _walk(doc, toks, path):
    cur = doc
    for t in toks:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError(422, "doc is missing path: %s" % path)
            cur = cur[t]
        elif isinstance(cur, list):
            try:
                cur = cur[int(t)]
            except (ValueError, IndexError):
                raise PatchError(422, "doc is missing path: %s" % path) from None
        else:
            raise PatchError(422, "doc is missing path: %s" % path)
    return cur


def _list_index(lst, tok, path, for_add):
    if tok == "-" and for_add:
        return len(lst)
    try:
        i = int(tok)
    except ValueError:
        raise PatchError(422, "invalid array index %r in %s" % (tok, path)) from None
    if i < 0 or i > len(lst) or (i == len(lst) and not for_add):
        raise PatchError(422, "unable to access invalid index: %d" % i)
    return i


def _add(doc, path, value):
    toks = _pointer(path)
    if not toks:
        return value
    parent = _walk(doc, toks[:-1], path)
    last = toks[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, last, path, True), value)
    else:
        raise PatchError(422, "doc is missing path: %s" % path)
    return doc


def _remove(doc, path):
    toks = _pointer(path)
    if not toks:
        raise PatchError(422, "cannot remove the whole document")
    parent = _walk(doc, toks[:-1], path)
    last = toks[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(422, "Unable to remove nonexistent key: %s: missing value" % last)
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_list_index(parent, last, path, False))
    raise PatchError(422, "doc is missing path: %s" % path)


def json_patch(orig, ops):
    """RFC 6902 on a deep copy of orig. A failed op (test included) is a 422."""
    if not isinstance(ops, list):
        raise PatchError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(orig)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(400, "invalid JSON patch operation %s" % json.dumps(op))
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(400, "missing value for %s operation" % kind)
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            toks = _pointer(path)
            if not toks:
                doc = copy.deepcopy(op["value"])
                continue
            parent = _walk(doc, toks[:-1], path)
            if isinstance(parent, dict):
                if toks[-1] not in parent:
                    raise PatchError(422, "replace operation does not apply: doc is missing key: %s" % path)
                parent[toks[-1]] = copy.deepcopy(op["value"])
            elif isinstance(parent, list):
                parent[_list_index(parent, toks[-1], path, False)] = copy.deepcopy(op["value"])
            else:
                raise PatchError(422, "doc is missing path: %s" % path)
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise PatchError(400, "missing from for %s operation" % kind)
            val = _walk(doc, _pointer(op["from"]), op["from"])
            if kind == "move":
                _remove(doc, op["from"])
            doc = _add(doc, path, copy.deepcopy(val))
        elif kind == "test":
            try:
                cur = _walk(doc, _pointer(path), path)
            except PatchError:
                cur = None
            if cur != op["value"]:
                raise PatchError(422, "testing value %s failed: test failed" % path)
        else:
            raise PatchError(400, "Unexpected kind: %s" % kind)
    return doc


# -------------------------------------------------------- strategic merge

_DIRECTIVES = ("$patch", "$retainKeys")


def _strip(v):
    """Drop directives from a value that is set wholesale."""
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items()
                if k not in _DIRECTIVES and not k.startswith("$setElementOrder/")
                and not k.startswith("$deleteFromPrimitiveList/")}
    if isinstance(v, list):
        return [_strip(x) for x in v if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    return v


def strategic_merge_patch(orig, patch, resource):
    if not isinstance(patch, dict):
        raise PatchError(400, "strategic merge patch must be a JSON object")
    return _smp_map(orig if isinstance(orig, dict) else {}, patch, (),
                    MERGE_KEYS.get(resource, _META))


def _smp_map(orig, patch, path, keys):
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip(patch)
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise PatchError(400, "Unknown patch type: %s" % directive)
    out = dict(orig)
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"] or [])
        out = {k: v for k, v in out.items() if k in keep}
    orders = {}
    for k, v in patch.items():
        if k in _DIRECTIVES:
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(out.get(field), list):
                drop = v or []
                out[field] = [x for x in out[field] if x not in drop]
            continue
        sub = path + (k,)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            if isinstance(out.get(k), dict):
                r = _smp_map(out[k], v, sub, keys)
                if r is None:
                    out.pop(k, None)
                else:
                    out[k] = r
            elif v.get("$patch") == "delete":
                out.pop(k, None)
            else:
                out[k] = _strip(v)
        elif isinstance(v, list) and sub in keys:
            out[k] = _smp_list(out.get(k) if isinstance(out.get(k), list) else [], v,
                               keys[sub], sub, keys)
        else:
            out[k] = _strip(v)
    for field, order in orders.items():
        if isinstance(out.get(field), list) and (path + (field,)) in keys:
            out[field] = _reorder(out[field], order, keys[path + (field,)])
    return out


def _smp_list(orig, patch, key, path, keys):
    if key == "":
        # a set of primitives: union, original order first
        out = list(orig)
        for x in patch:
            if isinstance(x, dict):
                raise PatchError(400, "unable to find api field in struct for the primitive list")
            if x not in out:
                out.append(x)
        return out
    out = [copy.deepcopy(x) for x in orig]
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(400, "invalid list item for merge key %s" % key)
        if item.get("$patch") == "replace":
            return _strip([x for x in patch if x.get("$patch") != "replace"])
        if key not in item:
            raise PatchError(400, "map: %s does not contain declared merge key: %s" % (item, key))
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            out = [o for o in out if not (isinstance(o, dict) and o.get(key) == item[key])]
        elif idx is None:
            out.append(_strip(item))
        else:
            out[idx] = _smp_map(out[idx], item, path, keys)
    return out


def _reorder(lst, order, key):
    def ident(x):
        return x.get(key) if key and isinstance(x, dict) else x
    pos = {json.dumps(ident(o) if key else o, sort_keys=True): i for i, o in enumerate(order)}
    ranked = [(pos.get(json.dumps(ident(x), sort_keys=True), len(pos) + i), x) for i, x in enumerate(lst)]
    return [x for _, x in sorted(ranked, key=lambda t: t[0])]
