# SPDX-License-Identifier: BSD-3-Clause
"""A CA, a server certificate and client certificates made with the openssl
CLI, and the kubeconfig / token / service-account files a client reads."""
import json
import os
import subprocess
import tempfile
import time


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _key(cwd, name):
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-out", name, cwd=cwd)


def make_ca(d):
    if os.path.exists(os.path.join(d, "ca.crt")) and os.path.exists(os.path.join(d, "ca.key")):
        return
    _key(d, "ca.key")
    _run("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "3650",
         "-subj", "/CN=fakeapi-ca", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=d)


def issue(d, name, cn, org=None, server=False, sans=("IP:127.0.0.1", "DNS:localhost")):
    """Signs <name>.crt/<name>.key with the CA in d; returns (crt, key) paths."""
    _key(d, name + ".key")
    subj = "/CN=%s" % cn + ("/O=%s" % org if org else "")
    _run("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", subj, cwd=d)
    ext = ["keyUsage=critical,digitalSignature,keyEncipherment",
           "extendedKeyUsage=%s" % ("serverAuth" if server else "clientAuth"),
           "basicConstraints=critical,CA:FALSE"]
    if server:
        ext.append("subjectAltName=" + ",".join(sans))
    with tempfile.NamedTemporaryFile("w", dir=d, suffix=".ext", delete=False) as f:
        f.write("\n".join(ext) + "\n")
    try:
        _run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", name + ".crt", "-days", "3650", "-extfile", f.name, cwd=d)
    finally:
        os.unlink(f.name)
        os.unlink(os.path.join(d, name + ".csr"))
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def write_atomic(path, data):
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write(data)
    os.replace(tmp, path)


def write_projected_token(sa_dir, token, namespace, ca_path):
    """The layout kubelet gives a projected service-account volume: files are
    symlinks into ..data, which is swapped atomically to a new timestamped dir."""
    os.makedirs(sa_dir, exist_ok=True)
    stamp = "..%s.%d" % (time.strftime("%Y_%m_%d_%H_%M_%S"), time.monotonic_ns())
    new = os.path.join(sa_dir, stamp)
    os.mkdir(new)
    with open(os.path.join(new, "token"), "w") as f:
        f.write(token)
    with open(os.path.join(new, "namespace"), "w") as f:
        f.write(namespace)
    with open(ca_path) as src, open(os.path.join(new, "ca.crt"), "w") as f:
        f.write(src.read())
    tmp = os.path.join(sa_dir, "..data_tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(stamp, tmp)
    old = os.readlink(os.path.join(sa_dir, "..data")) if os.path.lexists(os.path.join(sa_dir, "..data")) else None
    os.replace(tmp, os.path.join(sa_dir, "..data"))
    for n in ("token", "namespace", "ca.crt"):
        p = os.path.join(sa_dir, n)
        if not os.path.lexists(p):
            os.symlink(os.path.join("..data", n), p)
    if old and old != stamp:
        for n in os.listdir(os.path.join(sa_dir, old)):
            os.unlink(os.path.join(sa_dir, old, n))
        os.rmdir(os.path.join(sa_dir, old))


def kubeconfig(server, ca, token, token_file, client_crt, client_key):
    """YAML is a superset of JSON, so this is a valid kubeconfig for every client."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": server, "certificate-authority": ca}}],
        "users": [{"name": "fake-token", "user": {"token": token}},
                  {"name": "fake-tokenfile", "user": {"tokenFile": token_file}},
                  {"name": "fake-cert", "user": {"client-certificate": client_crt,
                                                 "client-key": client_key}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake-token",
                                                  "namespace": "default"}},
                     {"name": "fake-tokenfile", "context": {"cluster": "fake", "user": "fake-tokenfile"}},
                     {"name": "fake-cert", "context": {"cluster": "fake", "user": "fake-cert"}}],
    }, indent=2) + "\n"
