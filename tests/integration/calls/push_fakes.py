"""Local fakes of the push providers for the call tests: Apple APNs (token auth),
Google FCM HTTP v1 and its OAuth2 token endpoint, on one TLS HTTP/2 server
(ALPN "h2") on 127.0.0.1.

The fakes check what the real services check (paths, headers, provider JWTs,
OAuth assertions and access tokens, sizes) plus what our contract promises
(docs/control-plane.md "Push" and "Push bodies"). A request the real service
would refuse gets the real service's answer; any failed check goes to
`errors`, which tests expect to stay empty. Tests script the answer per device
token (`script`) and assert on every request (`requests`, `wait_for`).

Dependencies: Debian's python3-h2 (h2 4.1), cryptography, PyJWT.

    python3 push_fakes.py --dir D --port 0
prints one JSON line (url, ca_file, apns_key, service_account, ids) and serves
until stdin closes or SIGTERM."""

import argparse
import asyncio
import collections
import dataclasses
import datetime
import ipaddress
import itertools
import json
import math
import os
import re
import secrets
import signal
import ssl
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hyperframe.frame import GoAwayFrame

HOST = "127.0.0.1"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"

APNS_JWT_MAX_AGE = 3600        # Apple: a provider token older than an hour is expired
CLOCK_SKEW = 60                # tolerated "iat in the future", seconds
OAUTH_MAX_LIFETIME = 3600      # Google: exp - iat <= 1 h
OAUTH_EXPIRY_LEEWAY = 1.0      # an access token still works this long after expires_in
REVOKED_GRACE = 2.0            # a revoked credential seen this soon was probably in flight
GOAWAY_CLOSE_DELAY = 0.5       # the connection closes this long after a scripted GOAWAY
VOIP_MAX_BYTES = 5120
ALERT_MAX_BYTES = 4096
FCM_DATA_MAX_BYTES = 4096

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
DURATION_RE = re.compile(r"^\d+(\.\d+)?s$")
FCM_SEND_RE = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
JWT_LIKE_RE = re.compile(r"^eyJ[\w-]*\.[\w-]*\.[\w-]*$")
SECRET_KEY_WORDS = ("token", "secret", "password", "credential")
DISPLAY_FIELDS = ("callerDisplayName", "callerAvatarUrl", "modeHint")
FCM_MESSAGE_KEYS = {"name", "token", "topic", "condition", "data", "notification", "android",
                    "apns", "webpush", "fcm_options", "fcmOptions"}
FCM_ANDROID_KEYS = {"collapse_key", "collapseKey", "priority", "ttl", "restricted_package_name",
                    "restrictedPackageName", "data", "notification", "fcm_options",
                    "fcmOptions", "direct_boot_ok", "directBootOk"}

OAUTH_SCRIPT = "<oauth>"        # script() key for the token endpoint
OUTCOMES = {"ok", "unregistered", "bad_token", "sender_mismatch", "expired_provider_token",
            "fcm_unauthenticated", "500", "429", "slow", "goaway", "drop", "stall", "other_4xx",
            "invalid_grant"}


# --------------------------------------------------------------------------
# Keys and certificates
# --------------------------------------------------------------------------

def _pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def _cert(subject, issuer, public_key, signing_key, extensions):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30)))
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


class _GoogleTokens:
    """Access tokens the OAuth endpoint issued; shared by every FakeProviders
    on one PushMaterial, as Google's tokens work on any FCM host."""

    def __init__(self):
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._expiry = {}    # access token -> monotonic expiry
        self._revoked = {}   # access token -> monotonic time of revocation

    def issue(self, expires_in):
        with self._lock:
            token = f"ya29.fake-{next(self._serial)}"
            self._expiry[token] = time.monotonic() + expires_in
            return token

    def problem(self, token):
        """None when usable, else (text, counts_as_error)."""
        with self._lock:
            expiry = self._expiry.get(token)
            revoked = self._revoked.get(token)
        now = time.monotonic()
        if expiry is None:
            return "access token was never issued", True
        if revoked is not None:
            return "access token was revoked by fcm_unauthenticated", now - revoked > REVOKED_GRACE
        if now > expiry + OAUTH_EXPIRY_LEEWAY:
            return f"access token expired {now - expiry:.1f}s ago", True
        return None

    def revoke(self, token):
        with self._lock:
            self._revoked.setdefault(token, time.monotonic())


class PushMaterial:
    """Test keys, written to `tmpdir`: a CA (ca.pem) and a server certificate for
    127.0.0.1 and localhost it signed; an APNs auth key (EC P-256, PKCS#8 PEM like
    Apple's .p8); a Google service-account JSON (RSA 2048 key)."""

    team_id = "TEAM123456"
    key_id = "KEY1234567"
    bundle_id = "com.example.turnpike"
    project_id = "turnpike-test"
    client_email = "push@turnpike-test.iam.gserviceaccount.com"

    def __init__(self, tmpdir):
        self.dir = self.tmpdir = tmpdir
        os.makedirs(tmpdir, exist_ok=True)
        self._write_tls()
        apns_key = ec.generate_private_key(ec.SECP256R1())
        self.apns_public_key = apns_key.public_key()
        self.apns_key_path = _write(os.path.join(tmpdir, f"AuthKey_{self.key_id}.p8"),
                                    _pem_private(apns_key))
        self._sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.sa_public_key = self._sa_key.public_key()
        self.private_key_id = secrets.token_hex(20)
        self.service_account_path = os.path.join(tmpdir, "service-account.json")
        self.write_service_account(GOOGLE_TOKEN_URI, owner=None)  # sets token_uri
        self.google_tokens = _GoogleTokens()

    def _write_tls(self):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Turnpike push test CA")])
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca = _cert(ca_name, ca_name, ca_key.public_key(), ca_key, [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (x509.KeyUsage(digital_signature=False, content_commitment=False,
                           key_encipherment=False, data_encipherment=False, key_agreement=False,
                           key_cert_sign=True, crl_sign=True, encipher_only=False,
                           decipher_only=False), True),
            (ca_ski, False)])
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        cert = _cert(name, ca_name, key.public_key(), ca_key, [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.KeyUsage(digital_signature=True, content_commitment=False,
                           key_encipherment=False, data_encipherment=False, key_agreement=False,
                           key_cert_sign=False, crl_sign=False, encipher_only=False,
                           decipher_only=False), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                          x509.DNSName("localhost")]), False),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
            (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False)])
        pem = serialization.Encoding.PEM
        self.ca_file = _write(os.path.join(self.dir, "ca.pem"), ca.public_bytes(pem), 0o644)
        self.cert_file = _write(os.path.join(self.dir, "server.pem"), cert.public_bytes(pem),
                                0o644)
        self.key_file = _write(os.path.join(self.dir, "server.key"), _pem_private(key))

    def write_service_account(self, token_uri, owner="caller"):
        """Writes (or rewrites) the service-account file with this token_uri. Until
        a caller does, each FakeProviders.start() points it at its own /token
        unless another running FakeProviders already did."""
        account = {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": _pem_private(self._sa_key).decode(),
            "client_email": self.client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                    + self.client_email.replace("@", "%40"),
        }
        _write(self.service_account_path, json.dumps(account, indent=2).encode())
        self.token_uri = token_uri
        self.token_uri_owner = owner
        return self.service_account_path

    def _claim_token_uri(self, fake):
        owner = self.token_uri_owner
        if owner is None or (isinstance(owner, FakeProviders) and not owner.running):
            self.write_service_account(fake.token_uri, owner=fake)


# --------------------------------------------------------------------------
# Requests, answers and outcomes
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Request:
    """One request as the fake saw it; `status` is None until answered (and stays
    None for "goaway", "drop" or a connection lost before the answer)."""
    kind: str                 # 'apns' | 'fcm' | 'oauth' | 'unknown'
    label: str
    path: str
    method: str
    headers: dict
    body: bytes
    at: float
    conn: int
    json: object = None
    token: str = None         # APNs or FCM device token
    status: int = None
    apns_jwt: str = None
    error: str = None         # what failed verification, if anything
    outcome: object = None    # the scripted outcome applied
    duplicate_headers: tuple = ()

    def summary(self):
        return (f"{self.kind} {self.method} {self.path} conn={self.conn} token={self.token} "
                f"status={self.status} outcome={self.outcome} error={self.error}")


@dataclasses.dataclass
class _Answer:
    status: int
    headers: list = dataclasses.field(default_factory=list)
    body: bytes = b""


@dataclasses.dataclass
class _Slow:
    seconds: float
    answer: _Answer


_GOAWAY = "goaway"
_DROP = "drop"
_STALL = "stall"  # the connection goes silent: no answer, no PING ack, still open


class _Reject(Exception):
    """A check failed: answer as the provider would; `counted` puts it in errors."""

    def __init__(self, answer, text, counted=True):
        super().__init__(text)
        self.answer = answer
        self.text = text
        self.counted = counted


def _json_answer(status, obj, headers=()):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return _Answer(status, [("content-type", "application/json; charset=utf-8"), *headers], body)


def _split_outcome(outcome):
    if isinstance(outcome, (tuple, list)):
        return outcome[0], (outcome[1] if len(outcome) > 1 else None)
    return outcome, None


def _retry_after(seconds):
    return [("retry-after", str(int(math.ceil(seconds if seconds is not None else 1))))]


def _fcm_error(code, status, message, error_code=None, extra_details=(), headers=()):
    error = {"code": code, "message": message, "status": status}
    details = [{"@type": FCM_ERROR_TYPE, "errorCode": error_code}] if error_code else []
    details.extend(extra_details)
    if details:
        error["details"] = details
    return _json_answer(code, {"error": error}, headers)


def _fcm_invalid(message, field=None):
    violations = ([{"@type": BAD_REQUEST_TYPE,
                    "fieldViolations": [{"field": field, "description": message}]}]
                  if field else [])
    return _fcm_error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT", violations)


def _fcm_unauthenticated():
    return _fcm_error(401, "UNAUTHENTICATED",
                      "Request had invalid authentication credentials. Expected OAuth 2 access "
                      "token, login cookie or other valid authentication credential.",
                      headers=[("www-authenticate", 'Bearer realm="https://accounts.google.com/"')])


def _fcm_not_found(message="Requested entity was not found."):
    return _fcm_error(404, "NOT_FOUND", message)


def _oauth_error(error, description):
    return _json_answer(400, {"error": error, "error_description": description})


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_digits(value):
    return isinstance(value, str) and value.isdigit()


def _secret_problems(obj, where="body"):
    """Keys or values in a push body that look like credentials."""
    problems = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        if isinstance(key, str) and any(w in key.lower() for w in SECRET_KEY_WORDS):
            problems.append(f"{where}.{key} looks like a secret")
        elif isinstance(value, str) and JWT_LIKE_RE.match(value):
            problems.append(f"{where}.{key} holds a JWT")
        elif isinstance(value, (dict, list)):
            problems.extend(_secret_problems(value, f"{where}.{key}"))
    return problems


def _invite_problems(data, as_strings):
    """The invite fields of docs/control-plane.md "Push bodies" (FCM: strings)."""
    problems = []
    for name in ("callId", "fromUserId"):
        if not isinstance(data.get(name), str) or not data.get(name):
            problems.append(f"{name} missing or not a non-empty string")
    if data.get("type") not in ("audio", "video"):
        problems.append(f"type {data.get('type')!r} is not audio/video")
    number = _is_digits if as_strings else _is_int
    for name in ("timestamp", "ttlSeconds", "expiresAt"):
        if not number(data.get(name)):
            problems.append(f"{name} {data.get(name)!r} is not an integer"
                            + (" string" if as_strings else ""))
    if not problems and int(data["expiresAt"]) < int(data["timestamp"]):
        problems.append("expiresAt is before timestamp")
    for name in DISPLAY_FIELDS:
        if name in data and not isinstance(data[name], str):
            problems.append(f"{name} is not a string")
    return problems


# --------------------------------------------------------------------------
# The services: each checks a request, picks the scripted outcome and answers
# --------------------------------------------------------------------------

def _common_outcome(name, arg, ok):
    """The outcomes every service answers alike; None for the others."""
    if name == "slow":
        return _Slow(float(arg if arg is not None else 1.0), ok)
    if name == "goaway":
        return _GOAWAY
    if name == "drop":
        return _DROP
    if name == "stall":
        return _STALL
    return None


class _Apns:
    """APNs provider API with token auth (research/push-control.md 1.1)."""

    def __init__(self, fake):
        self.fake = fake
        self.material = fake.material
        self.sandbox = fake.label == "sandbox"
        self.jwt_checks = {}      # provider JWT -> (iat, problem)
        self.revoked_jwts = {}    # provider JWT -> monotonic time of ExpiredProviderToken

    def answer(self, request, status, reason=None, headers=(), **extra):
        apns_id = request.headers.get("apns-id", "")
        if not UUID_RE.match(apns_id):
            apns_id = str(uuid.uuid4())
        all_headers = [("apns-id", apns_id), *headers]
        if self.sandbox:
            all_headers.append(("apns-unique-id", str(uuid.uuid4())))
        if reason is None:
            return _Answer(status, all_headers)
        body = json.dumps({"reason": reason, **extra}, separators=(",", ":")).encode()
        return _Answer(status, [*all_headers, ("content-type", "application/json")], body)

    def reject(self, request, status, reason, text, counted=True):
        return _Reject(self.answer(request, status, reason), f"{reason}: {text}", counted)

    def handle(self, request):
        path = request.path.split("?", 1)[0]
        token = path[len("/3/device/"):] if path.startswith("/3/device/") else ""
        request.token = token or None
        if request.method != "POST":
            raise self.reject(request, 405, "MethodNotAllowed", request.method)
        if not token or "/" in token:
            raise self.reject(request, 400, "MissingDeviceToken", f"path {path}")
        if any(name.startswith("apns-") or name == "authorization"
               for name in request.duplicate_headers):
            raise self.reject(request, 400, "DuplicateHeaders",
                              ", ".join(request.duplicate_headers))
        self.check_provider_token(request)
        push_type = self.check_headers(request)
        self.check_payload(request, push_type)
        problems = (self.voip_problems(request) if push_type == "voip"
                    else self.alert_problems(request))
        if problems:
            request.error = "; ".join(problems)
        request.outcome = outcome = self.fake._next_outcome(token)
        return self.outcome(request, outcome)

    def check_provider_token(self, request):
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise self.reject(request, 403, "MissingProviderToken", "no authorization")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise self.reject(request, 403, "InvalidProviderToken",
                              "authorization is not 'bearer <JWT>'")
        request.apns_jwt = token
        check = self.jwt_checks.get(token)
        if check is None:
            check = self.jwt_checks[token] = self.verify_provider_token(token)
            self.fake._saw_provider_token(token)
        iat, problem = check
        if problem:
            raise self.reject(request, 403, "InvalidProviderToken", problem)
        age = time.time() - iat
        if age > APNS_JWT_MAX_AGE:
            raise self.reject(request, 403, "ExpiredProviderToken", f"iat is {age:.0f}s old")
        if age < -CLOCK_SKEW:
            raise self.reject(request, 403, "InvalidProviderToken",
                              f"iat is {-age:.0f}s in the future")
        revoked = self.revoked_jwts.get(token)
        if revoked is not None:
            raise self.reject(
                request, 403, "ExpiredProviderToken", "JWT reused after ExpiredProviderToken",
                counted=time.monotonic() - revoked > REVOKED_GRACE)

    def verify_provider_token(self, token):
        """(iat, None) for a good ES256 provider JWT, else (None, problem)."""
        material = self.material
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, material.apns_public_key, algorithms=["ES256"],
                                options={"verify_exp": False, "verify_iat": False,
                                         "verify_nbf": False, "verify_aud": False})
        except jwt.PyJWTError as e:
            return None, f"provider JWT: {e}"
        if header.get("alg") != "ES256":
            return None, f"JWT alg {header.get('alg')!r}"
        if header.get("kid") != material.key_id:
            return None, f"JWT kid {header.get('kid')!r}, key is {material.key_id}"
        if claims.get("iss") != material.team_id:
            return None, f"JWT iss {claims.get('iss')!r}, team is {material.team_id}"
        if not _is_int(claims.get("iat")):
            return None, f"JWT iat {claims.get('iat')!r} is not an integer"
        return claims["iat"], None

    def check_headers(self, request):
        headers, bundle = request.headers, self.material.bundle_id
        push_type = headers.get("apns-push-type")
        if push_type not in ("voip", "alert"):
            raise self.reject(request, 400, "InvalidPushType",
                              f"apns-push-type {push_type!r} (we send voip or alert)")
        topic = headers.get("apns-topic")
        if topic is None:
            raise self.reject(request, 400, "MissingTopic", "no apns-topic")
        if topic not in (bundle, bundle + ".voip"):
            raise self.reject(request, 400, "BadTopic", f"apns-topic {topic!r}")
        wanted = bundle + ".voip" if push_type == "voip" else bundle
        if topic != wanted:
            raise self.reject(request, 400, "DeviceTokenNotForTopic",
                              f"{push_type} push with apns-topic {topic!r}, not {wanted!r}")
        if headers.get("apns-priority") != "10":
            raise self.reject(request, 400, "BadPriority",
                              f"apns-priority {headers.get('apns-priority')!r}, not '10'")
        if not re.fullmatch(r"\d+", headers.get("apns-expiration", "")):
            raise self.reject(request, 400, "BadExpirationDate",
                              f"apns-expiration {headers.get('apns-expiration')!r}")
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            raise self.reject(request, 400, "BadCollapseId", "apns-collapse-id > 64 bytes")
        if "apns-id" in headers and not UUID_RE.match(headers["apns-id"]):
            raise self.reject(request, 400, "BadMessageId",
                              f"apns-id {headers['apns-id']!r}")
        return push_type

    def check_payload(self, request, push_type):
        limit = VOIP_MAX_BYTES if push_type == "voip" else ALERT_MAX_BYTES
        if not request.body:
            raise self.reject(request, 400, "PayloadEmpty", "empty body")
        if len(request.body) > limit:
            raise self.reject(request, 413, "PayloadTooLarge",
                              f"{push_type} body of {len(request.body)} > {limit} bytes")
        try:
            request.json = json.loads(request.body)
        except ValueError as e:
            raise self.reject(request, 400, "BadPayload", f"body is not JSON: {e}")
        if not isinstance(request.json, dict):
            raise self.reject(request, 400, "BadPayload", "body is not a JSON object")

    def voip_problems(self, request):
        body = request.json
        problems = [] if body.get("event") == "incoming_call" else [
            f"event {body.get('event')!r}, not 'incoming_call'"]
        problems += _invite_problems(body, as_strings=False)
        problems += _secret_problems(body)
        if not problems:
            deadline = body["expiresAt"] / 1000
            expiration = int(request.headers["apns-expiration"])
            if abs(expiration - deadline) > 1:
                problems.append(f"apns-expiration {expiration} is not the ring deadline "
                                f"(expiresAt {body['expiresAt']})")
        return problems

    def alert_problems(self, request):
        body, problems = request.json, []
        aps = body.get("aps") if isinstance(body.get("aps"), dict) else {}
        alert = aps.get("alert") if isinstance(aps.get("alert"), dict) else {}
        if alert.get("title") != "Missed call":
            problems.append(f"aps.alert.title {alert.get('title')!r}, not 'Missed call'")
        if not isinstance(alert.get("body"), str) or not alert.get("body"):
            problems.append("aps.alert.body missing")
        if "sound" not in aps:
            problems.append("aps.sound missing")
        if body.get("event") != "missed_call":
            problems.append(f"event {body.get('event')!r}, not 'missed_call'")
        if not isinstance(body.get("callId"), str) or not body.get("callId"):
            problems.append("callId missing")
        elif request.headers.get("apns-collapse-id") != body["callId"]:
            problems.append(f"apns-collapse-id {request.headers.get('apns-collapse-id')!r} "
                            f"is not the callId")
        return problems + _secret_problems(body)

    def outcome(self, request, outcome):
        name, arg = _split_outcome(outcome)
        ok = self.answer(request, 200)
        common = _common_outcome(name, arg, ok)
        if common is not None:
            return common
        if name == "ok":
            return ok
        if name == "unregistered":
            stamp = int(arg) if arg is not None else int(time.time() * 1000)
            return self.answer(request, 410, "Unregistered", timestamp=stamp)
        if name == "bad_token":
            return self.answer(request, 400, "BadDeviceToken")
        if name == "expired_provider_token":
            self.revoked_jwts.setdefault(request.apns_jwt, time.monotonic())
            return self.answer(request, 403, "ExpiredProviderToken")
        if name == "500":
            return self.answer(request, 500, "InternalServerError")
        if name == "429":
            return self.answer(request, 429, "TooManyRequests", _retry_after(arg))
        if name == "other_4xx":
            return self.answer(request, 400, "BadExpirationDate")
        raise ValueError(f"outcome {outcome!r} was scripted for APNs token {request.token}")


class _Fcm:
    """FCM HTTP v1 messages:send (research/push-control.md 1.2)."""

    def __init__(self, fake):
        self.fake = fake
        self.material = fake.material
        self.names = itertools.count(1)

    def handle(self, request):
        match = FCM_SEND_RE.match(request.path)
        if not match or request.method != "POST":
            raise _Reject(_fcm_not_found(), f"{request.method} {request.path} is not messages:send")
        if match.group(1) != self.material.project_id:
            raise _Reject(_fcm_not_found(), f"project {match.group(1)!r}, "
                                            f"not {self.material.project_id!r}")
        bearer = self.check_bearer(request)
        message = self.check_message(request)
        request.token = message["token"]
        problems = self.data_problems(message)
        if problems:
            request.error = "; ".join(problems)
        request.outcome = outcome = self.fake._next_outcome(request.token)
        return self.outcome(request, outcome, bearer)

    def check_bearer(self, request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _Reject(_fcm_unauthenticated(), "authorization is not 'Bearer <access token>'")
        problem = self.material.google_tokens.problem(token)
        if problem:
            raise _Reject(_fcm_unauthenticated(), problem[0], counted=problem[1])
        return token

    def check_message(self, request):
        """What FCM itself refuses with 400 INVALID_ARGUMENT."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise _Reject(_fcm_invalid("Invalid JSON payload received."),
                          f"content-type {request.headers.get('content-type')!r}")
        try:
            request.json = json.loads(request.body)
        except ValueError as e:
            raise _Reject(_fcm_invalid("Invalid JSON payload received."), f"body: {e}")
        body = request.json
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict) or set(body) - {"message", "validate_only",
                                                         "validateOnly"}:
            raise _Reject(_fcm_invalid("Invalid JSON payload received.", "message"),
                          "body is not {'message': {...}}")
        self.reject_unknown(message, FCM_MESSAGE_KEYS, "message")
        if not isinstance(message.get("token"), str) or not message["token"]:
            raise _Reject(_fcm_invalid("Recipient of the message is not set.", "message.token"),
                          "message.token missing")
        data = message.get("data", {})
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise _Reject(_fcm_invalid("Invalid value at 'message.data' (TYPE_STRING)",
                                       "message.data"), "message.data values must be strings")
        for key in data:
            if key in ("from", "message_type") or key.startswith(("google", "gcm")):
                raise _Reject(_fcm_invalid(f"Invalid data payload key: {key}", "message.data"),
                              f"reserved data key {key!r}")
        size = sum(len(k.encode()) + len(v.encode()) for k, v in data.items())
        if size > FCM_DATA_MAX_BYTES:
            raise _Reject(_fcm_invalid("Message is too big", "message"),
                          f"data is {size} > {FCM_DATA_MAX_BYTES} bytes")
        android = message.get("android", {})
        if not isinstance(android, dict):
            raise _Reject(_fcm_invalid("Invalid value at 'message.android'", "message.android"),
                          "message.android is not an object")
        self.reject_unknown(android, FCM_ANDROID_KEYS, "message.android")
        priority = android.get("priority", "NORMAL")
        if not isinstance(priority, str) or priority.upper() not in ("NORMAL", "HIGH"):
            raise _Reject(_fcm_invalid(f"Invalid value at 'message.android.priority': {priority}",
                                       "message.android.priority"), f"priority {priority!r}")
        ttl = android.get("ttl", "2419200s")
        if not isinstance(ttl, str) or not DURATION_RE.match(ttl):
            raise _Reject(_fcm_invalid(f"Invalid value at 'message.android.ttl': {ttl}",
                                       "message.android.ttl"), f"ttl {ttl!r}")
        return message

    @staticmethod
    def reject_unknown(obj, known, where):
        unknown = sorted(set(obj) - known)
        if unknown:
            raise _Reject(_fcm_invalid(f"Invalid JSON payload received. Unknown name "
                                       f"\"{unknown[0]}\" at '{where}': Cannot find field.",
                                       where), f"unknown field {where}.{unknown[0]}")

    def data_problems(self, message):
        """Our contract: data-only, HIGH, ttl and collapse_key as promised."""
        data, android = message.get("data", {}), message.get("android", {})
        problems = ["message.notification present (must be data-only)"] \
            if "notification" in message else []
        if str(android.get("priority", "")).upper() != "HIGH":
            problems.append(f"android.priority {android.get('priority')!r}, not HIGH")
        collapse_key = android.get("collapse_key", android.get("collapseKey"))
        if collapse_key != data.get("callId"):
            problems.append(f"android.collapse_key {collapse_key!r} is not the callId")
        ttl = float(android["ttl"][:-1]) if "ttl" in android else None
        event = data.get("event")
        if event == "incoming_call":
            problems += _invite_problems(data, as_strings=True)
            if ttl is None or (_is_digits(data.get("ttlSeconds"))
                               and abs(ttl - int(data["ttlSeconds"])) > 2):
                problems.append(f"android.ttl {android.get('ttl')!r} is not the time left "
                                f"to ring ({data.get('ttlSeconds')}s)")
        elif event == "call_cancelled":
            for name in ("callId", "reason"):
                if not data.get(name):
                    problems.append(f"{name} missing")
            if ttl != 60:
                problems.append(f"android.ttl {android.get('ttl')!r}, not '60s'")
        else:
            problems.append(f"event {event!r} is neither incoming_call nor call_cancelled")
        return problems + _secret_problems(data, "data")

    def outcome(self, request, outcome, bearer):
        name, arg = _split_outcome(outcome)
        project = self.material.project_id
        ok = _json_answer(200, {"name": f"projects/{project}/messages/0:{next(self.names)}"})
        common = _common_outcome(name, arg, ok)
        if common is not None:
            return common
        if name == "ok":
            return ok
        if name == "unregistered":
            return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.",
                              "UNREGISTERED")
        if name == "bad_token":
            return _fcm_invalid("The registration token is not a valid FCM registration token",
                                "message.token")
        if name == "sender_mismatch":
            return _fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch",
                              "SENDER_ID_MISMATCH")
        if name == "fcm_unauthenticated":
            self.material.google_tokens.revoke(bearer)
            return _fcm_unauthenticated()
        if name == "500":
            return _fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL")
        if name == "429":
            return _fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for sending messages.",
                              "QUOTA_EXCEEDED", headers=_retry_after(arg))
        if name == "other_4xx":
            return _fcm_invalid("Invalid value at 'message.android.ttl'", "message.android.ttl")
        raise ValueError(f"outcome {outcome!r} was scripted for FCM token {request.token}")


class _OAuth:
    """Google's OAuth2 token endpoint, JWT-bearer grant for service accounts."""

    def __init__(self, fake):
        self.fake = fake
        self.material = fake.material
        self.issued = 0

    def handle(self, request):
        if request.method != "POST":
            raise _Reject(_json_answer(405, {"error": "invalid_request"}),
                          f"{request.method} /token")
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise _Reject(_oauth_error("invalid_request", "Bad content type"),
                          f"content-type {content_type!r}")
        form = parse_qs(request.body.decode("utf-8", "replace"))
        grant_type = form.get("grant_type", [""])[0]
        if grant_type != JWT_BEARER_GRANT:
            raise _Reject(_oauth_error("unsupported_grant_type",
                                       f"Invalid grant_type: {grant_type}"),
                          f"grant_type {grant_type!r}")
        self.check_assertion(form.get("assertion", [""])[0])
        request.outcome = outcome = self.fake._next_outcome(OAUTH_SCRIPT)
        name, arg = _split_outcome(outcome)
        if name == "invalid_grant":
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if name == "500":
            return _json_answer(500, {"error": "internal_failure"})
        if name == "429":
            return _json_answer(429, {"error": "rate_limit_exceeded"}, _retry_after(arg))
        if name in ("goaway", "drop"):
            return _common_outcome(name, arg, None)
        if name not in ("ok", "slow"):
            raise ValueError(f"outcome {outcome!r} was scripted for the token endpoint")
        answer = self.issue_access_token()
        return _common_outcome(name, arg, answer) or answer

    def check_assertion(self, assertion):
        material = self.material

        def invalid(text):
            return _Reject(_oauth_error("invalid_grant", text), f"OAuth assertion: {text}")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, material.sa_public_key, algorithms=["RS256"],
                                audience=material.token_uri, leeway=CLOCK_SKEW,
                                options={"require": ["iss", "aud", "iat", "exp"],
                                         "verify_iat": False})
        except jwt.PyJWTError as e:
            raise invalid(f"{type(e).__name__}: {e}")
        if header.get("alg") != "RS256":
            raise invalid(f"alg {header.get('alg')!r}")
        if "kid" in header and header["kid"] != material.private_key_id:
            raise invalid(f"kid {header['kid']!r} is not the private_key_id")
        if claims["iss"] != material.client_email:
            raise invalid(f"iss {claims['iss']!r}")
        if FCM_SCOPE not in str(claims.get("scope", "")).split():
            raise invalid(f"scope {claims.get('scope')!r} lacks {FCM_SCOPE}")
        if not (_is_int(claims["iat"]) and _is_int(claims["exp"])):
            raise invalid("iat/exp are not integers")
        if claims["exp"] - claims["iat"] > OAUTH_MAX_LIFETIME:
            raise invalid(f"exp - iat = {claims['exp'] - claims['iat']} > {OAUTH_MAX_LIFETIME}")
        if claims["iat"] > time.time() + CLOCK_SKEW:
            raise invalid("iat is in the future")

    def issue_access_token(self):
        token = self.material.google_tokens.issue(self.fake.oauth_expires_in)
        self.issued += 1
        return _json_answer(200, {"access_token": token, "expires_in": self.fake.oauth_expires_in,
                                  "token_type": "Bearer"}, [("cache-control", "no-store")])


# --------------------------------------------------------------------------
# HTTP/2 server connection
# --------------------------------------------------------------------------

_H2_CONFIG = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
_H2_SETTINGS = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 65536}


class _H2Server(asyncio.Protocol):
    """One client connection: collects each stream's headers and body, hands the
    finished request to FakeProviders, and writes the answer (now or later)."""

    def __init__(self, fake):
        self.fake = fake
        self.serial = 0
        self.transport = None
        self.conn = None
        self.streams = {}        # stream id -> (header list, bytearray)
        self.unsent = {}         # stream id -> body bytes waiting for window
        self.goaway_last = None  # last_stream_id of a scripted GOAWAY
        self.closed = False
        self.stalled = False     # a scripted "stall": read nothing, write nothing

    # -- asyncio callbacks ---------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.serial = self.fake._connection_made(self)
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object else None
        if alpn != "h2":
            self.fake._error(f"conn {self.serial}: ALPN {alpn!r}, not h2")
            transport.abort()
            return
        self.conn = h2.connection.H2Connection(config=_H2_CONFIG)
        self.conn.local_settings = h2.settings.Settings(client=False,
                                                        initial_values=_H2_SETTINGS)
        self.conn.initiate_connection()
        self.flush()

    def connection_lost(self, exc):
        self.closed = True
        self.fake._connection_lost(self)

    def data_received(self, data):
        if self.conn is None or self.closed or self.stalled:
            return
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self.fake._error(f"conn {self.serial}: HTTP/2 protocol error: {e!r}")
            self.flush()
            self.transport.close()
            return
        for event in events:
            if self.closed:  # a scripted "drop"
                return
            try:
                self._on_event(event)
            except Exception:
                self.fake._error(f"conn {self.serial}: fake crashed:\n{traceback.format_exc()}")
        self.flush()

    # -- HTTP/2 events -------------------------------------------------------
    def _on_event(self, event):
        if isinstance(event, h2.events.RequestReceived):
            if self.refused(event.stream_id):
                self.conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                return
            self.streams[event.stream_id] = (event.headers, bytearray())
        elif isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream[1].extend(event.data)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None and not self.refused(event.stream_id):
                self._request_done(event.stream_id, *stream)
        elif isinstance(event, h2.events.StreamReset):
            self.streams.pop(event.stream_id, None)
            self.unsent.pop(event.stream_id, None)
        elif isinstance(event, h2.events.WindowUpdated):
            for stream_id in list(self.unsent):
                try:
                    self._send_body(stream_id, self.unsent.pop(stream_id))
                except h2.exceptions.ProtocolError:
                    pass  # the stream is gone
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.flush()
            self.transport.close()

    def _request_done(self, stream_id, header_list, body):
        headers = dict(header_list)
        duplicates = ()
        if len(headers) != len(header_list):
            names = [name for name, _ in header_list]
            duplicates = tuple(sorted({n for n in names if names.count(n) > 1}))
        request = Request(kind="unknown", label=self.fake.label, path=headers.get(":path", ""),
                          method=headers.get(":method", ""), headers=headers, body=bytes(body),
                          at=time.monotonic(), conn=self.serial, duplicate_headers=duplicates)
        action = self.fake._handle(request)
        if isinstance(action, _Answer):
            self._answer(stream_id, action)
        elif isinstance(action, _Slow):
            self.fake._spawn(self._answer_later(stream_id, request, action))
        elif action == _GOAWAY:
            self._goaway(stream_id)
        elif action == _DROP:
            self.abort()
        elif action == _STALL:
            self.stalled = True

    def refused(self, stream_id):
        """After a scripted GOAWAY, later streams are not processed."""
        return self.goaway_last is not None and stream_id > self.goaway_last

    # -- answers ---------------------------------------------------------------
    def _answer(self, stream_id, answer):
        """False when the stream or the connection is already gone."""
        headers = [(":status", str(answer.status)), *answer.headers,
                   ("content-length", str(len(answer.body)))]
        try:
            self.conn.send_headers(stream_id, headers, end_stream=not answer.body)
            if answer.body:
                self._send_body(stream_id, answer.body)
            return True
        except h2.exceptions.ProtocolError:  # includes StreamClosedError
            return False

    async def _answer_later(self, stream_id, request, slow):
        await asyncio.sleep(slow.seconds)
        if self.closed or self.refused(stream_id):
            return
        if self._answer(stream_id, slow.answer):
            request.status = slow.answer.status
        self.flush()

    def _send_body(self, stream_id, data):
        """Sends as much as the peer's windows allow; the rest waits for WINDOW_UPDATE."""
        while data:
            size = min(len(data), self.conn.local_flow_control_window(stream_id),
                       self.conn.max_outbound_frame_size)
            if size <= 0:
                self.unsent[stream_id] = data
                return
            self.conn.send_data(stream_id, data[:size], end_stream=size == len(data))
            data = data[size:]

    def _goaway(self, stream_id):
        """GOAWAY naming an earlier stream as the last one processed, so this
        request (and any later one) counts as refused and must be retried on a
        new connection. h2 cannot send GOAWAY and keep serving older streams, so
        the frame is written by hand."""
        self.goaway_last = max(stream_id - 2, 0)
        frame = GoAwayFrame(0)
        frame.last_stream_id = self.goaway_last
        frame.error_code = 0
        self.flush()
        self.transport.write(frame.serialize())
        asyncio.get_running_loop().call_later(GOAWAY_CLOSE_DELAY, self.close)

    def flush(self):
        if self.conn is not None and not self.closed and not self.stalled:
            data = self.conn.data_to_send()
            if data:
                self.transport.write(data)

    def close(self):
        if not self.closed:
            self.flush()
            self.transport.close()

    def abort(self):
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()


# --------------------------------------------------------------------------
# The providers
# --------------------------------------------------------------------------

class FakeProviders:
    """APNs (POST /3/device/<token>), FCM (POST /v1/projects/<p>/messages:send) and
    OAuth (POST /token) on one TLS HTTP/2 server on 127.0.0.1. The asyncio loop
    runs in a daemon thread; the accessors are thread-safe."""

    OAUTH = OAUTH_SCRIPT  # script(FakeProviders.OAUTH, ...) scripts the token endpoint

    def __init__(self, material, label="production", oauth_expires_in=3600, port=0):
        self.material = material
        self.label = label
        self.oauth_expires_in = oauth_expires_in
        self._wanted_port = port
        self._port = None
        self._lock = threading.Lock()
        self._requests = []
        self._errors = []
        self._scripts = {}                 # device token -> deque of outcomes
        self._jwts_seen = {}               # provider JWT -> None: a set that keeps order
        self._live = set()                 # open _H2Server connections; loop thread only
        self._tasks = set()                # answers waiting ("slow")
        self._connections = 0
        self._apns, self._fcm, self._oauth = _Apns(self), _Fcm(self), _OAuth(self)
        self._loop = None
        self._thread = None
        self._server = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self):
        ready = threading.Event()
        failure = []

        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                self._server = loop.run_until_complete(loop.create_server(
                    lambda: _H2Server(self), HOST, self._wanted_port, ssl=self._ssl_context(),
                    backlog=1024))
                self._port = self._server.sockets[0].getsockname()[1]
            except Exception as e:
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(asyncio.sleep(0))  # let aborted connections finish
            loop.close()

        self._thread = threading.Thread(target=run, name=f"push-fakes-{self.label}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        if self._port is None:
            raise RuntimeError("push fakes did not start")
        self.material._claim_token_uri(self)
        return self

    def stop(self):
        if not self.running:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self):
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for connection in list(self._live):
            connection.abort()

    def _ssl_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.material.cert_file, self.material.key_file)
        context.set_alpn_protocols(["h2"])
        return context

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what tests use ------------------------------------------------------------
    @property
    def running(self):
        return self._loop is not None and not self._loop.is_closed()

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        return f"https://{HOST}:{self._port}"

    @property
    def token_uri(self):
        return self.url + "/token"

    def script(self, token, *outcomes):
        """Outcomes for the next requests to this device token, in order; then "ok".
        A request that fails verification does not use one up."""
        for outcome in outcomes:
            name, _ = _split_outcome(outcome)
            if name not in OUTCOMES:
                raise ValueError(f"unknown push outcome {outcome!r}")
        with self._lock:
            self._scripts.setdefault(token, collections.deque()).extend(outcomes)

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    @property
    def errors(self):
        with self._lock:
            return list(self._errors)

    @property
    def connections_accepted(self):
        with self._lock:
            return self._connections

    @property
    def apns_jwts(self):
        with self._lock:
            return list(self._jwts_seen)

    @property
    def oauth_tokens_issued(self):
        return self._oauth.issued

    def wait_for(self, pred, timeout=10.0, count=1):
        """The requests matching pred once there are at least `count` of them.
        A predicate that raises counts as no match."""
        deadline = time.monotonic() + timeout
        while True:
            matches = [r for r in self.requests if _safe(pred, r)]
            if len(matches) >= count:
                return matches
            if time.monotonic() >= deadline:
                seen = self.requests
                lines = "\n  ".join(r.summary() for r in seen[-20:])
                raise AssertionError(
                    f"{len(matches)} of {count} matching push request(s) after {timeout}s; "
                    f"{len(seen)} seen, last ones:\n  {lines}\nerrors: {self.errors}")
            time.sleep(0.02)

    def kill_connections(self):
        """Aborts every open TCP connection (no GOAWAY, no TLS close)."""
        async def abort_all():
            for connection in list(self._live):
                connection.abort()
        asyncio.run_coroutine_threadsafe(abort_all(), self._loop).result(10)

    # -- loop-thread helpers -------------------------------------------------------
    def _connection_made(self, connection):
        self._live.add(connection)
        with self._lock:
            self._connections += 1
            return self._connections

    def _connection_lost(self, connection):
        self._live.discard(connection)

    def _spawn(self, coroutine):
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _error(self, text):
        with self._lock:
            self._errors.append(text)

    def _record(self, request):
        with self._lock:
            self._requests.append(request)
            if request.error:
                self._errors.append(f"{request.kind} {request.path}: {request.error}")

    def _saw_provider_token(self, token):
        with self._lock:
            self._jwts_seen[token] = None

    def _next_outcome(self, token):
        with self._lock:
            queue = self._scripts.get(token)
            return queue.popleft() if queue else "ok"

    def _handle(self, request):
        """Routes, verifies and picks the answer; records the request."""
        try:
            path = request.path.split("?", 1)[0]
            if path.startswith("/3/device"):
                request.kind = "apns"
                action = self._apns.handle(request)
            elif path.startswith("/v1/projects/"):
                request.kind = "fcm"
                action = self._fcm.handle(request)
            elif path == "/token":
                request.kind = "oauth"
                action = self._oauth.handle(request)
            else:
                raise _Reject(_json_answer(404, {"reason": "BadPath"}), f"unknown path {path}")
        except _Reject as reject:
            if reject.counted:
                request.error = reject.text
            action = reject.answer
        except Exception:
            request.error = f"fake crashed:\n{traceback.format_exc()}"
            action = _json_answer(500, {"reason": "InternalServerError"})
        if isinstance(action, _Answer):
            request.status = action.status
        self._record(request)
        return action


def _safe(pred, request):
    try:
        return pred(request)
    except Exception:
        return False


# --------------------------------------------------------------------------
# Standalone mode
# --------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where keys and certificates go")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--label", default="production")
    parser.add_argument("--oauth-expires-in", type=int, default=3600)
    args = parser.parse_args(argv)

    material = PushMaterial(args.dir)
    fake = FakeProviders(material, label=args.label, oauth_expires_in=args.oauth_expires_in,
                         port=args.port).start()
    print(json.dumps({"url": fake.url, "ca_file": material.ca_file,
                      "apns_key": material.apns_key_path,
                      "service_account": material.service_account_path,
                      "token_uri": material.token_uri, "project_id": material.project_id,
                      "team_id": material.team_id, "key_id": material.key_id,
                      "bundle_id": material.bundle_id}), flush=True)

    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.buffer.read(), done.set()), daemon=True).start()
    while not done.wait(0.5):
        pass
    fake.stop()

    counts = collections.Counter(f"{r.kind} {r.status}" for r in fake.requests)
    print(json.dumps({"requests": dict(sorted(counts.items())),
                      "connections": fake.connections_accepted,
                      "oauth_tokens_issued": fake.oauth_tokens_issued,
                      "errors": fake.errors}), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
