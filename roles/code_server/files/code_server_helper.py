# Helper of the nixl_efa.cluster.code_server role, run on the node as `python3 -c <this file>
# SUBCOMMAND ...` (stdin stays free for a password). Prints one JSON object.
#
#   installed PACKAGE_JSON        dpkg architecture and the installed code-server version
#   login-hash USER               SHA-512 crypt hash of the password on stdin for USER's account:
#                                 the current one when it matches the password, else a new one
#   argon2-hash CONFIG T M P L    argon2id hash for code-server's config.yaml: the current
#                                 hashed-password when it matches, else a new one (T iterations,
#                                 M KiB, P lanes, L bytes)
#   settings PATH                 the current VS Code settings.json, parsed
#   extensions BIN ENTRY...       install the extensions that are missing (as the user)
#   status UNIT... [--tls HOST:PORT CERT]
#                                 the units' active states, the listening TCP sockets, the result
#                                 of `nginx -t`, and with --tls the SHA-256 fingerprints of the
#                                 certificate nginx serves on HOST:PORT and of CERT
#   tls CERT KEY GENERATE DAYS SAN...
#                                 the certificate nginx serves over TLS: with GENERATE "yes" a
#                                 self-signed one (openssl, RSA 3072, SHA-256, the SANs) when CERT
#                                 or KEY is missing; its SHA-256 fingerprint and end date
#
# The password never appears in arguments, output or files.
import base64
import hashlib
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.request
import zipfile


def out(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")


def password_from_stdin():
    password = sys.stdin.read()
    if password.endswith("\n"):
        password = password[:-1]
    if not password:
        sys.exit("no password on stdin")
    return password


def installed(package_json):
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    version = ""
    try:
        with open(package_json, encoding="utf-8") as handle:
            version = json.load(handle).get("version", "")
    except (OSError, ValueError):
        pass
    out({"arch": arch, "version": version})


def openssl_sha512(password, salt):
    result = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def login_hash(user):
    password = password_from_stdin()
    current = ""
    with open("/etc/shadow", encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split(":")
            if fields[0] == user and len(fields) > 1:
                current = fields[1]
    match = re.fullmatch(r"\$6\$([A-Za-z0-9./]{1,16})\$[A-Za-z0-9./]+", current)
    if match and openssl_sha512(password, match.group(1)) == current:
        out({"hash": current, "reused": True})
        return
    out({"hash": openssl_sha512(password, secrets.token_hex(8)), "reused": False})


def b64decode_nopad(text):
    return base64.b64decode(text + "=" * (-len(text) % 4))


def argon2(password, salt, variant, time_cost, memory_kib, parallelism, length):
    argv = [
        "argon2",
        salt,
        "-" + variant,
        "-t",
        str(time_cost),
        "-k",
        str(memory_kib),
        "-p",
        str(parallelism),
        "-l",
        str(length),
        "-e",
    ]
    result = subprocess.run(argv, input=password.encode(), capture_output=True, check=True)
    return result.stdout.decode().strip()


def current_argon2(config):
    """The hashed-password of config.yaml and what re-hashing it needs, or None."""
    try:
        with open(config, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    match = re.search(r"^hashed-password:\s*[\"']?(\$argon2[^\"'\s]+)", text, re.M)
    if not match:
        return None
    encoded = match.group(1)
    parts = re.fullmatch(
        r"\$argon2(id|i|d)\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)", encoded
    )
    if not parts:
        return None
    try:
        salt = b64decode_nopad(parts.group(5)).decode("ascii")
        length = len(b64decode_nopad(parts.group(6)))
    except (ValueError, UnicodeDecodeError):
        return None
    # The argon2 CLI takes the salt as an argument: printable, not an option, 8 bytes or more.
    if len(salt) < 8 or not salt.isprintable() or salt.startswith("-") or " " in salt:
        return None
    return {
        "encoded": encoded,
        "variant": parts.group(1),
        "memory_kib": int(parts.group(2)),
        "time": int(parts.group(3)),
        "parallelism": int(parts.group(4)),
        "salt": salt,
        "length": length,
    }


def argon2_hash(config, time_cost, memory_kib, parallelism, length):
    password = password_from_stdin()
    current = current_argon2(config)
    if current:
        again = argon2(
            password,
            current["salt"],
            current["variant"],
            current["time"],
            current["memory_kib"],
            current["parallelism"],
            current["length"],
        )
        if again == current["encoded"]:
            out({"hash": current["encoded"], "reused": True})
            return
    new = argon2(password, secrets.token_hex(8), "id", int(time_cost), int(memory_kib), int(parallelism), int(length))
    out({"hash": new, "reused": False})


def settings(path):
    if not os.path.exists(path):
        out({"exists": False, "valid": True, "settings": {}})
        return
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except ValueError:
        # VS Code accepts comments and trailing commas (JSONC); such a file is replaced, with
        # a backup, by the managed settings.
        out({"exists": True, "valid": False, "settings": {}})
        return
    out({"exists": True, "valid": True, "settings": data})


def vsix_id(path):
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("extension/package.json"))
    return "{}.{}".format(manifest["publisher"], manifest["name"])


def extensions(binary, entries):
    def listed():
        result = subprocess.run([binary, "--list-extensions"], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit("code-server --list-extensions failed: " + result.stderr[-2000:])
        return [
            line.strip()
            for line in result.stdout.splitlines()
            if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*\.[A-Za-z0-9][A-Za-z0-9._-]*", line.strip())
        ]

    before = listed()
    have = {name.lower() for name in before}
    installed_now, errors, tmpdir = [], [], tempfile.mkdtemp(prefix="code-server-vsix-")
    try:
        for entry in entries:
            source = entry
            if re.match(r"https?://", entry):
                source = os.path.join(tmpdir, f"download-{len(installed_now + errors)}.vsix")
                try:
                    urllib.request.urlretrieve(entry, source)
                except OSError as err:
                    errors.append(f"{entry}: download failed: {err}")
                    continue
            if source.endswith(".vsix") or os.sep in source:
                try:
                    ident = vsix_id(source)
                except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
                    errors.append(f"{entry}: not a readable .vsix: {err}")
                    continue
            else:
                ident = entry.split("@", 1)[0]
            if ident.lower() in have:
                continue
            result = subprocess.run(
                [binary, "--install-extension", source], capture_output=True, text=True, check=False
            )
            if result.returncode != 0 or "Failed" in result.stdout + result.stderr:
                errors.append(f"{entry}: {(result.stdout + result.stderr).strip()[-1500:]}")
                continue
            have.add(ident.lower())
            installed_now.append(ident)
    finally:
        for name in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, name))
        os.rmdir(tmpdir)
    out(
        {"before": before, "installed": installed_now, "errors": errors, "after": listed() if installed_now else before}
    )
    if errors:
        sys.exit(1)


def fingerprint(der):
    """SHA-256 fingerprint of a DER certificate, as browsers and openssl show it (AB:CD:...)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def file_fingerprint(path):
    with open(path, encoding="ascii") as handle:
        return fingerprint(ssl.PEM_cert_to_DER_cert(handle.read()))


def served_fingerprint(host, port):
    """Fingerprint of the certificate a TLS server sends (not verified: it is compared instead)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((host, int(port)), timeout=5)
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return fingerprint(tls.getpeercert(binary_form=True))
    except (OSError, ssl.SSLError) as e:
        return f"no TLS on {host}:{port}: {e}"


def tls(cert, key, generate, days, *sans):
    missing = [path for path in (cert, key) if not os.path.exists(path)]
    generated = False
    if missing and generate != "yes":
        sys.exit(f"the TLS certificate or key given is missing on the node: {', '.join(missing)}")
    if missing:
        for path in (cert, key):
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        old = os.umask(0o077)
        try:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:3072", "-sha256", "-nodes", "-days", str(days),
                 "-subj", "/CN=code-server", "-addext", "subjectAltName=" + ",".join(sans),
                 "-keyout", key, "-out", cert],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
        finally:
            os.umask(old)
        os.chmod(key, 0o600)
        os.chmod(cert, 0o644)
        generated = True
    end = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-in", cert], capture_output=True, text=True, check=True
    )
    out(
        {
            "cert": cert,
            "key": key,
            "generated": generated,
            "fingerprint": file_fingerprint(cert),
            "not_after": end.stdout.strip().partition("=")[2],
        }
    )


def status(*units):
    tls_check = None
    if "--tls" in units:
        at = units.index("--tls")
        tls_check, units = units[at + 1 : at + 3], units[:at]
    active = {}
    for unit in units:
        result = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False)
        active[unit] = result.stdout.strip() or "unknown"
    sockets = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True)
    listening = sorted({line.split()[3] for line in sockets.stdout.splitlines() if len(line.split()) > 3})
    nginx = subprocess.run(["nginx", "-t"], capture_output=True, text=True, check=False)
    answer = {
        "active": active,
        "listening": listening,
        "nginx_test": {"rc": nginx.returncode, "output": (nginx.stdout + nginx.stderr).strip()},
    }
    if tls_check:
        address, cert = tls_check
        host, _colon, port = address.rpartition(":")
        answer["tls"] = {"served": served_fingerprint(host, port), "file": file_fingerprint(cert)}
    out(answer)


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "installed":
        installed(*args)
    elif command == "login-hash":
        login_hash(*args)
    elif command == "argon2-hash":
        argon2_hash(*args)
    elif command == "settings":
        settings(*args)
    elif command == "extensions":
        extensions(args[0], args[1:])
    elif command == "status":
        status(*args)
    elif command == "tls":
        tls(*args)
    else:
        sys.exit("unknown subcommand " + command)


if __name__ == "__main__":
    main(sys.argv[1:])
