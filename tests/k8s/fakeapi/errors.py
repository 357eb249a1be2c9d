# SPDX-License-Identifier: BSD-3-Clause
"""kube-apiserver's error responses: metav1.Status objects with the reasons,
messages and details the real server uses."""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None, metadata=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.metadata = metadata or {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.metadata),
             "status": "Failure", "message": self.message}
        if self.reason:
            s["reason"] = self.reason
        if self.details is not None:
            s["details"] = self.details
        s["code"] = self.code
        return s


def _details(res, name, kind=None):
    d = {}
    if name:
        d["name"] = name
    if res is not None and res.group:
        d["group"] = res.group
    d["kind"] = kind or (res.plural if res is not None else "")
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.group_resource, name),
                    _details(res, name))


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res.group_resource, name),
                    _details(res, name))


def conflict(res, name, why="the object has been modified; please apply your changes "
                             "to the latest version and try again"):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (res.group_resource, name, why), _details(res, name))


class FieldError:
    REASONS = {"Invalid value": "FieldValueInvalid", "Required value": "FieldValueRequired",
               "Duplicate value": "FieldValueDuplicate", "Unsupported value": "FieldValueNotSupported",
               "Forbidden": "FieldValueForbidden", "Too long": "FieldValueTooLong"}

    def __init__(self, field, what, value=None, detail=""):
        self.field, self.what, self.value, self.detail = field, what, value, detail

    def body(self):
        b = self.what
        if self.what in ("Invalid value", "Duplicate value", "Unsupported value"):
            v = self.value
            b += ": " + ('"%s"' % v if isinstance(v, str) else str(v).replace("True", "true")
                         .replace("False", "false"))
        if self.detail:
            b += ": " + self.detail
        return b

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


def invalid(res, name, errs):
    msgs = [str(e) for e in errs]
    joined = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    d = _details(res, name, res.kind)
    d["causes"] = [{"reason": FieldError.REASONS.get(e.what, "FieldValueInvalid"),
                    "message": e.body(), "field": e.field} for e in errs]
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (res.kind, name, joined), d)


def unprocessable(server_message):
    """What the real server answers when a JSON patch does not apply."""
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": server_message}]})


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def expired(message, cont=None):
    return ApiError(410, "Expired", message, metadata={"continue": cont} if cont else None)


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user, verb, res, ns, name=None):
    scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
    what = res.plural if res else "path"
    return ApiError(403, "Forbidden", '%s%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s'
                    % (what, ' "%s"' % name if name else "", user, verb, what,
                       res.group if res else "", scope), _details(res, name))


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message, {})


def unsupported_media_type(ctype):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml, application/strategic-merge-patch+json"
                    if ctype is None else
                    'the body of the request was in an unknown format - accepted media types include: '
                    'application/json, application/yaml, application/vnd.kubernetes.protobuf', {})


def too_large_rv(want, have):
    return ApiError(504, "Timeout", "Too large resource version: %d, current: %d" % (want, have),
                    {"causes": [{"reason": "ResourceVersionTooLarge",
                                 "message": "Too large resource version"}], "retryAfterSeconds": 1})


def server_error(code, message=None, retry_after=None):
    reason, default = {429: ("TooManyRequests", "Too many requests, please try again later."),
                       500: ("InternalError", "Internal error occurred: injected fault"),
                       503: ("ServiceUnavailable", "The server is currently unable to handle the request"),
                       504: ("Timeout", "The server was unable to return a response in the time allotted")
                       }.get(code, ("", "injected fault"))
    details = None
    headers = {}
    if retry_after is not None:
        details = {"retryAfterSeconds": int(retry_after)}
        headers["Retry-After"] = str(int(retry_after))
    if code == 500:
        details = dict(details or {}, causes=[{"message": message or "injected fault"}])
        return ApiError(500, reason, "Internal error occurred: %s" % (message or "injected fault"),
                        details, headers)
    return ApiError(code, reason, message or default, details, headers)
