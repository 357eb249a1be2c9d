# SPDX-License-Identifier: BSD-3-Clause
"""Object factories: Services, EndpointSlices, Nodes, Namespaces shaped like
kube-apiserver's JSON output (`kubectl get -o json` of a single object, with
kind and apiVersion; the server strips them from list items). manifest=True
gives instead what a user or controller would send (no server-set fields).

Addresses and ports a factory assigns come, in order, from the lower half of
the service CIDR / NodePort range (the server allocates from the upper half),
so factory output can be created on a FakeAPI as is."""
import copy
import ipaddress
import random
import time
import uuid

from . import defaults as D

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
CLEANUP_FINALIZER = "service.kubernetes.io/load-balancer-cleanup"


class Cluster:
    """Counters behind the factories (uids are random, the rest is sequential)."""

    def __init__(self, service_cidr="10.96.0.0/12", node_ports=(30000, 32767), start_rv=1000, seed=None):
        self.net = ipaddress.ip_network(service_cidr)
        self.port_lo, self.port_hi = node_ports
        self.ip_i = 0
        self.port_i = 0
        self.rv = start_rv
        self.rng = random.Random(seed)

    def next_ip(self):
        half = self.net.num_addresses // 2 - 10
        ip = str(self.net.network_address + 10 + self.ip_i % half)
        self.ip_i += 1
        return ip

    def next_port(self):
        half = (self.port_hi - self.port_lo) // 2
        p = self.port_lo + self.port_i % half
        self.port_i += 1
        return p

    def next_rv(self):
        self.rv += 1
        return str(self.rv)


DEFAULT = Cluster()


def reset(**kw):
    global DEFAULT
    DEFAULT = Cluster(**kw)


def _meta(name, namespace, labels, annotations, finalizers, generation, cluster, manager,
          api_version, body, uid=None, creation_timestamp=None):
    m = {"name": name}
    if namespace is not None:
        m["namespace"] = namespace
    m["uid"] = uid or str(uuid.uuid4())
    m["resourceVersion"] = cluster.next_rv()
    if generation:
        m["generation"] = 1
    t = creation_timestamp or D.now_rfc3339()
    m["creationTimestamp"] = t
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if finalizers:
        m["finalizers"] = list(finalizers)
    m["managedFields"] = D.managed_fields(None, manager, "Update", api_version, body, None, t)
    return m


def port(port, target_port=None, name=None, protocol=None, node_port=None, app_protocol=None):
    """A Service port as a user writes it."""
    p = {}
    if name is not None:
        p["name"] = name
    if protocol is not None:
        p["protocol"] = protocol
    if app_protocol is not None:
        p["appProtocol"] = app_protocol
    p["port"] = port
    if target_port is not None:
        p["targetPort"] = target_port
    if node_port is not None:
        p["nodePort"] = node_port
    return p


def _ports(ports):
    out = []
    for p in ports:
        if isinstance(p, int):
            out.append({"port": p})
        elif isinstance(p, (tuple, list)):
            out.append(port(*p))
        else:
            out.append(dict(p))
    if len(out) > 1:
        for i, p in enumerate(out):
            p.setdefault("name", "p%d" % i)
    return out


def service(name, namespace="default", *, ports=(80,), type="LoadBalancer", selector=None,
            load_balancer_class=None, external_traffic_policy=None, allocate_lb_node_ports=None,
            session_affinity=None, session_affinity_timeout=None, source_ranges=None,
            load_balancer_ip=None, cluster_ip=None, ip_families=None, ip_family_policy=None,
            labels=None, annotations=None, finalizers=None, ingress=None, manifest=False,
            uid=None, cluster=None, manager="kubectl-client-side-apply"):
    """A v1 Service. ports: ints, (port, targetPort[, name, protocol, nodePort]) tuples or
    dicts. ingress: status.loadBalancer.ingress entries (or IP strings: ipMode Proxy)."""
    cluster = cluster or DEFAULT
    spec = {"ports": _ports(ports)}
    if selector is None:
        selector = {"app": name}
    if selector:
        spec["selector"] = dict(selector)
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    spec["type"] = type
    if session_affinity:
        spec["sessionAffinity"] = session_affinity
        if session_affinity_timeout is not None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": session_affinity_timeout}}
    if load_balancer_ip:
        spec["loadBalancerIP"] = load_balancer_ip
    if source_ranges is not None:
        spec["loadBalancerSourceRanges"] = list(source_ranges)
    if external_traffic_policy:
        spec["externalTrafficPolicy"] = external_traffic_policy
    if ip_families:
        spec["ipFamilies"] = list(ip_families)
    if ip_family_policy:
        spec["ipFamilyPolicy"] = ip_family_policy
    if allocate_lb_node_ports is not None:
        spec["allocateLoadBalancerNodePorts"] = allocate_lb_node_ports
    if load_balancer_class is not None:
        spec["loadBalancerClass"] = load_balancer_class
    body = {"apiVersion": "v1", "kind": "Service",
            "metadata": {k: v for k, v in (("name", name), ("namespace", namespace),
                                           ("labels", labels), ("annotations", annotations),
                                           ("finalizers", finalizers)) if v},
            "spec": spec}
    if manifest:
        return body
    svc = copy.deepcopy(body)
    D.service_defaults(svc)
    sp = svc["spec"]
    if sp["type"] != "ExternalName" and "clusterIP" not in sp:
        sp["clusterIP"] = cluster.next_ip()
    if sp["type"] == "NodePort" or (sp["type"] == "LoadBalancer" and sp["allocateLoadBalancerNodePorts"]):
        for p in sp["ports"]:
            p.setdefault("nodePort", cluster.next_port())
    if sp["type"] == "LoadBalancer" and sp.get("externalTrafficPolicy") == "Local":
        sp.setdefault("healthCheckNodePort", cluster.next_port())
    errs = D.prepare_service(svc, D.Allocator(str(cluster.net), None, (cluster.port_lo, cluster.port_hi)))
    if errs:
        raise ValueError("invalid Service: " + "; ".join(str(e) for e in errs))
    svc["metadata"] = _meta(name, namespace, labels, annotations, finalizers, True, cluster, manager,
                            "v1", body, uid)
    if ingress:
        svc["status"] = {"loadBalancer": {"ingress": [
            {"ip": i, "ipMode": "Proxy"} if isinstance(i, str) else dict(i) for i in ingress]}}
    return D.tidy("services", svc)


def _endpoint(e, namespace, cluster):
    if isinstance(e, str):
        e = {"ip": e}
    ready = e.get("ready", True)
    terminating = e.get("terminating", False)
    serving = e.get("serving", ready if not terminating else False)
    out = {"addresses": [e["ip"]],
           "conditions": {"ready": ready, "serving": serving, "terminating": terminating}}
    if e.get("hostname"):
        out["hostname"] = e["hostname"]
    pod = e.get("pod", "pod-" + e["ip"].replace(".", "-").replace(":", "-"))
    if pod:
        out["targetRef"] = {"kind": "Pod", "namespace": namespace, "name": pod,
                            "uid": e.get("pod_uid") or str(uuid.UUID(int=cluster.rng.getrandbits(128), version=4))}
    if e.get("node"):
        out["nodeName"] = e["node"]
    if e.get("zone"):
        out["zone"] = e["zone"]
    for k in ("ready", "serving", "terminating"):
        if e.get(k, "") is None:        # None: leave the condition unset
            del out["conditions"][k]
    return out


def endpoint_slice(svc, endpoints, *, ports=None, name=None, namespace=None, address_type=None,
                   managed_by="endpointslice-controller.k8s.io", labels=None, manifest=False,
                   cluster=None, manager="kube-controller-manager"):
    """A discovery.k8s.io/v1 EndpointSlice for Service svc (a Service dict, or its
    name). endpoints: IP strings or dicts {ip, ready, serving, terminating (None =
    unset), node, pod, zone, hostname}. ports: [{name, port, protocol}] (default:
    the Service's ports by name with their numeric targetPort)."""
    cluster = cluster or DEFAULT
    if isinstance(svc, dict):
        sname, sns = svc["metadata"]["name"], svc["metadata"].get("namespace", "default")
        suid = svc["metadata"].get("uid")
        slabels = svc["metadata"].get("labels") or {}
        sports = svc.get("spec", {}).get("ports") or []
    else:
        sname, sns, suid, slabels, sports = svc, namespace or "default", None, {}, []
    namespace = namespace or sns
    if ports is None:
        ports = []
        for p in sports:
            tp = p.get("targetPort", p["port"])
            if not isinstance(tp, int):
                raise ValueError("named targetPort %r: give ports= explicitly" % tp)
            ports.append({"name": p.get("name", ""), "port": tp, "protocol": p.get("protocol", "TCP")})
    else:
        ports = [dict({"name": "", "protocol": "TCP"}, **p) for p in ports]
    eps = [_endpoint(e, namespace, cluster) for e in endpoints]
    if address_type is None:
        first = eps[0]["addresses"][0] if eps else "0.0.0.0"
        address_type = "IPv6" if ":" in first else "IPv4"
    name = name or "%s-%s" % (sname, "".join(cluster.rng.choice("bcdfghjklmnpqrstvwxz2456789")
                                             for _ in range(5)))
    lab = dict(slabels)
    lab.update({SERVICE_NAME_LABEL: sname, MANAGED_BY_LABEL: managed_by})
    lab.update(labels or {})
    if managed_by == "endpointslice-controller.k8s.io" and not slabels.get("service.kubernetes.io/headless"):
        pass
    annotations = {"endpoints.kubernetes.io/last-change-trigger-time": D.now_rfc3339()}
    body = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "labels": lab, "annotations": annotations},
            "addressType": address_type, "endpoints": eps, "ports": ports}
    if suid:
        body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Service", "name": sname,
                                                "uid": suid, "controller": True,
                                                "blockOwnerDeletion": True}]
    if manifest:
        body["metadata"]["generateName"] = sname + "-"
        return body
    out = copy.deepcopy(body)
    D.endpointslice_defaults(out)
    errs = D.validate_endpointslice(out)
    if errs:
        raise ValueError("invalid EndpointSlice: " + "; ".join(str(e) for e in errs))
    m = _meta(name, namespace, lab, annotations, None, True, cluster, manager, "discovery.k8s.io/v1", body)
    m["generateName"] = sname + "-"
    if suid:
        m["ownerReferences"] = body["metadata"]["ownerReferences"]
    out["metadata"] = m
    return D.tidy("endpointslices", out)


def endpoint_slices(svc, endpoints, max_per_slice=100, **kw):
    """Split endpoints over several slices the way the controller does (at most
    max_per_slice each)."""
    chunks = [endpoints[i:i + max_per_slice] for i in range(0, len(endpoints), max_per_slice)] or [[]]
    return [endpoint_slice(svc, c, **kw) for c in chunks]


def _cond(ctype, status, reason, message, t):
    return {"type": ctype, "status": status, "lastHeartbeatTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


def node(name, internal_ip, *, ready=True, unschedulable=False, exclude_from_lb=False, labels=None,
         annotations=None, taints=None, hostname=None, pod_cidr=None, external_ip=None,
         internal_ip6=None, deleting=False, finalizers=None, manifest=False, cluster=None,
         manager="kubelet"):
    """A v1 Node as a kubelet registers it. ready: True, False or "Unknown".
    exclude_from_lb: add node.kubernetes.io/exclude-from-external-load-balancers.
    deleting: deletionTimestamp set (a finalizer keeps it)."""
    cluster = cluster or DEFAULT
    t = D.now_rfc3339()
    lab = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
           "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": hostname or name,
           "kubernetes.io/os": "linux"}
    if exclude_from_lb:
        lab[EXCLUDE_LB_LABEL] = "true" if exclude_from_lb is True else str(exclude_from_lb)
    lab.update(labels or {})
    ann = {"node.alpha.kubernetes.io/ttl": "0",
           "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
    ann.update(annotations or {})
    spec = {}
    if pod_cidr:
        spec["podCIDR"] = pod_cidr
        spec["podCIDRs"] = [pod_cidr]
    tl = list(taints or [])
    if unschedulable:
        spec["unschedulable"] = True
        tl.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": t})
    if ready is not True:
        tl.append({"key": "node.kubernetes.io/not-ready" if ready is False else "node.kubernetes.io/unreachable",
                   "effect": "NoSchedule", "timeAdded": t})
    if tl:
        spec["taints"] = tl
    addrs = [{"type": "InternalIP", "address": internal_ip}]
    if internal_ip6:
        addrs.append({"type": "InternalIP", "address": internal_ip6})
    if external_ip:
        addrs.append({"type": "ExternalIP", "address": external_ip})
    addrs.append({"type": "Hostname", "address": hostname or name})
    if ready is True:
        rc = _cond("Ready", "True", "KubeletReady", "kubelet is posting ready status", t)
    elif ready is False:
        rc = _cond("Ready", "False", "KubeletNotReady",
                   "container runtime network not ready: NetworkReady=false", t)
    else:
        rc = _cond("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", t)
    res = {"cpu": "4", "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
           "memory": "16331184Ki", "pods": "110"}
    status = {"capacity": res, "allocatable": dict(res),
              "conditions": [_cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                   "kubelet has sufficient memory available", t),
                             _cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                                   "kubelet has no disk pressure", t),
                             _cond("PIDPressure", "False", "KubeletHasSufficientPID",
                                   "kubelet has sufficient PID available", t), rc],
              "addresses": addrs,
              "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
              "nodeInfo": {"machineID": uuid.uuid5(uuid.NAMESPACE_DNS, "machine." + name).hex,
                           "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, "system." + name)),
                           "bootID": str(uuid.uuid5(uuid.NAMESPACE_DNS, "boot." + name)),
                           "kernelVersion": "6.1.0-18-amd64",
                           "osImage": "Debian GNU/Linux 12 (bookworm)",
                           "containerRuntimeVersion": "containerd://1.7.24",
                           "kubeletVersion": "v1.32.0", "kubeProxyVersion": "v1.32.0",
                           "operatingSystem": "linux", "architecture": "amd64"}}
    if deleting and not finalizers:
        finalizers = ["fakeapi.test/hold"]
    body = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": lab, "annotations": ann},
            "spec": spec, "status": status}
    if finalizers:
        body["metadata"]["finalizers"] = list(finalizers)
    if manifest:
        return body
    out = copy.deepcopy(body)
    out["metadata"] = _meta(name, None, lab, ann, finalizers, False, cluster, manager, "v1", body)
    if deleting:
        out["metadata"]["deletionTimestamp"] = t
        out["metadata"]["deletionGracePeriodSeconds"] = 0
    return D.tidy("nodes", out)


def namespace(name, labels=None, manifest=False, cluster=None):
    cluster = cluster or DEFAULT
    lab = {"kubernetes.io/metadata.name": name}
    lab.update(labels or {})
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": lab}}
    if manifest:
        return body
    out = copy.deepcopy(body)
    out["metadata"] = _meta(name, None, lab, None, None, False, cluster, "kubectl-create", "v1", body)
    out["spec"] = {"finalizers": ["kubernetes"]}
    out["status"] = {"phase": "Active"}
    return D.tidy("namespaces", out)


def event(regarding, reason, note, *, type="Normal", action="Update", namespace=None,
          controller="lbd.io/lbd", instance="lbd-0", api="events.k8s.io/v1"):
    """An Event as a controller creates it (request body), for either API."""
    m = regarding["metadata"]
    ref = {"kind": regarding.get("kind"), "namespace": m.get("namespace"), "name": m["name"],
           "uid": m.get("uid"), "apiVersion": regarding.get("apiVersion"),
           "resourceVersion": m.get("resourceVersion")}
    ref = {k: v for k, v in ref.items() if v}
    ns = namespace or m.get("namespace") or "default"
    name = "%s.%x" % (m["name"], time.time_ns())
    if api == "events.k8s.io/v1":
        return {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": name, "namespace": ns}, "eventTime": D.now_micro(),
                "reportingController": controller, "reportingInstance": instance, "action": action,
                "reason": reason, "regarding": ref, "note": note, "type": type}
    t = D.now_rfc3339()
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
            "involvedObject": ref, "reason": reason, "message": note, "type": type,
            "source": {"component": controller}, "firstTimestamp": t, "lastTimestamp": t, "count": 1}


def as_list(kind, items, resource_version, api_version="v1"):
    """A List as the server sends it: items without kind/apiVersion."""
    return {"kind": kind + "List", "apiVersion": api_version,
            "metadata": {"resourceVersion": str(resource_version)},
            "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]}
