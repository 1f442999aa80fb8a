#!/usr/bin/env python3
"""Every environment variable the deployment files set must be one `classify` knows.

Run by deploy/validate.sh (which provides PyYAML in its venv):

    check_env.py CLASSIFY_BIN FAKE_GOOGLE_BIN COMPOSE_JSON... K8S_YAML...

- The names each subcommand knows come from the binary itself: `classify <sub> --help`
  prints `[env: NAME]` for every option (clap), read with an empty environment.
- Kubernetes: for each container of each rendered overlay, the subcommand is its first
  argument; its names are `env[].name` plus the keys of every ConfigMap it loads with
  `envFrom`. Every `secretKeyRef` / `configMapKeyRef` must name a key that exists (the Secret's
  keys come from base/secret.env.example, since the Secret itself is the operator's).
- Compose: each service that runs the classify image (`docker compose config --format json`,
  given as `*.json`). The demo's fake Google service (build target `fake-google`) must use only
  flags `fake-google --help` lists, and every GOOGLE_*_URL of that file must be on the origin
  it advertises (`--public-url`).
- The Dockerfile's ENV (the image's default command is `serve`) and the binary section of
  .env.example.
- The KEDA component: its ScaledObject scales a Deployment that exists, and watches the list
  `<CLASSIFY_REDIS_PREFIX>:queue:ready` of the ConfigMap.

A few variables are read outside clap; they are listed in OUTSIDE_CLAP and each must still
appear in server/src, so the list cannot go stale silently.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SUBCOMMANDS = ("serve", "worker", "migrate")
# Read by the process but not through clap: name -> why.
OUTSIDE_CLAP = {"RUST_LOG": "log filter (tracing EnvFilter)"}


def known_names(binary):
    names = {}
    for sub in SUBCOMMANDS:
        out = subprocess.run(
            [binary, sub, "--help"],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found = set(re.findall(r"\[env:\s+([A-Z0-9_]+)", out))
        if not found:
            raise SystemExit(f"`classify {sub} --help` lists no [env: ...] names: has its format changed?")
        names[sub] = found | set(OUTSIDE_CLAP)
    sources = "\n".join(p.read_text(errors="replace") for p in (ROOT / "server/src").rglob("*.rs"))
    for name in OUTSIDE_CLAP:
        if name not in sources:
            raise SystemExit(f"{name} is allowed as read outside clap, but server/src never mentions it")
    return names


def env_file_keys(path):
    keys = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(line.split("=", 1)[0])
    return keys


def check_kubernetes(path, known, secret_keys, errors):
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    used_secret_keys = set()
    containers = 0
    for d in docs:
        spec = d.get("spec", {})
        pod = spec.get("template", {}).get("spec") if d["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet") else None
        if pod is None:
            continue
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            where = f"{path}: {d['kind']}/{d['metadata']['name']} container {c['name']}"
            argv = c.get("args") or c.get("command") or ["serve"]
            sub = argv[0]
            if sub not in known:
                errors.append(f"{where}: runs `{sub}`, which is not one of {SUBCOMMANDS}")
                continue
            containers += 1
            names = []
            for e in c.get("env", []):
                names.append(e["name"])
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    if r["name"] == "classify":
                        used_secret_keys.add(r["key"])
                        if r["key"] not in secret_keys:
                            errors.append(f"{where}: {e['name']} reads key {r['key']} that secret.env.example lacks")
                if "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    if r["key"] not in configmaps.get(r["name"], {}):
                        errors.append(f"{where}: {e['name']} reads {r['name']}/{r['key']}, which does not exist")
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    name = src["configMapRef"]["name"]
                    if name not in configmaps:
                        errors.append(f"{where}: envFrom ConfigMap {name} is not in the manifests")
                    names.extend(configmaps.get(name, {}).keys())
                if "secretRef" in src:
                    errors.append(f"{where}: envFrom a Secret hides which names it sets; use secretKeyRef")
            for n in names:
                if n not in known[sub]:
                    errors.append(f"{where}: sets {n}, which `classify {sub}` does not know")
    unused = set(secret_keys) - used_secret_keys
    if unused:
        errors.append(f"{path}: secret.env.example has keys no container reads: {sorted(unused)}")
    for d in docs:
        if d["kind"] == "ScaledObject":
            target = d["spec"]["scaleTargetRef"]["name"]
            if target not in deployments:
                errors.append(f"{path}: ScaledObject scales {target}, which is not a Deployment here")
            prefixes = {cm.get("CLASSIFY_REDIS_PREFIX", "classify") for cm in configmaps.values()}
            for t in d["spec"]["triggers"]:
                if t["type"] == "redis":
                    want = {f"{p}:queue:ready" for p in prefixes}
                    if t["metadata"].get("listName") not in want:
                        errors.append(f"{path}: KEDA watches {t['metadata'].get('listName')}, the queue is {sorted(want)}")
            hpas = [h for h in docs if h["kind"] == "HorizontalPodAutoscaler" and h["spec"]["scaleTargetRef"]["name"] == target]
            if hpas:
                errors.append(f"{path}: both KEDA and an HPA scale {target}")
    return containers


def check_compose(path, known, fake_google_flags, errors):
    config = json.loads(Path(path).read_text())
    services = 0
    fake_origin = None
    for name, svc in config["services"].items():
        if (svc.get("build") or {}).get("target") == "fake-google":
            fake_origin = check_fake_google(name, svc, fake_google_flags, errors)
            continue
        if "classify" not in svc.get("image", "") and "build" not in svc:
            continue
        argv = svc.get("command") or ["serve"]
        sub = argv[0]
        if sub not in known:
            errors.append(f"compose service {name}: runs `{sub}`, not one of {SUBCOMMANDS}")
            continue
        services += 1
        for n in (svc.get("environment") or {}):
            if n not in known[sub]:
                errors.append(f"compose service {name}: sets {n}, which `classify {sub}` does not know")
        if fake_origin is not None:
            for n, value in (svc.get("environment") or {}).items():
                if n.startswith("GOOGLE_") and n.endswith("_URL") and not str(value).startswith(fake_origin):
                    errors.append(f"compose service {name}: {n}={value} is not on the fake's origin {fake_origin}")
    return services


def check_fake_google(name, svc, flags, errors):
    """The demo's fake Google: its flags exist, and it returns the origin it advertises."""
    argv = svc.get("command") or []
    for arg in argv:
        if arg.startswith("--") and arg not in flags:
            errors.append(f"compose service {name}: fake-google has no flag {arg}")
    if "--public-url" not in argv[:-1]:
        errors.append(f"compose service {name}: fake-google needs --public-url (the origin browsers and containers share)")
        return None
    return argv[argv.index("--public-url") + 1].rstrip("/")


def check_dockerfile(known, errors):
    text = (ROOT / "Dockerfile").read_text()
    # The runtime stage's ENV lines, with their continuations.
    runtime = text.split("AS runtime", 1)[1]
    names = set()
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", runtime, re.M):
        names |= set(re.findall(r"([A-Z][A-Z0-9_]*)=", block))
    for n in sorted(names):
        if n not in known["serve"]:
            errors.append(f"Dockerfile: ENV {n}, which `classify serve` (the image's command) does not know")
    return len(names)


def check_env_example(known, errors):
    text = (ROOT / ".env.example").read_text()
    binary = text.split("# ---- the classify binary", 1)[1]
    every = set().union(*known.values())
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", binary, re.M))
    for n in sorted(names - every):
        errors.append(f".env.example: {n} is not a setting of classify")
    return len(names)


def main():
    binary, fake_google, *files = sys.argv[1:]
    compose_jsons = [f for f in files if f.endswith(".json")]
    k8s = [f for f in files if not f.endswith(".json")]
    known = known_names(binary)
    usage = subprocess.run([fake_google, "--help"], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    fake_google_flags = set(re.findall(r"--[a-z][a-z-]*", usage.stdout + usage.stderr))
    if "--addr" not in fake_google_flags:
        raise SystemExit(f"`{fake_google} --help` lists no flags: has its format changed?")
    # scan/eval options named in .env.example are checked against their own help.
    for sub in ("scan", "eval"):
        out = subprocess.run([binary, sub, "--help"], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True).stdout
        known.setdefault("_local", set()).update(re.findall(r"\[env:\s+([A-Z0-9_]+)", out))
    secret_keys = env_file_keys(ROOT / "deploy/kubernetes/base/secret.env.example")
    errors = []
    counts = [f"{sub}: {len(known[sub])} names" for sub in SUBCOMMANDS]
    n_k8s = sum(check_kubernetes(p, {s: known[s] for s in SUBCOMMANDS}, secret_keys, errors) for p in k8s)
    n_compose = sum(
        check_compose(p, {s: known[s] for s in SUBCOMMANDS}, fake_google_flags, errors) for p in compose_jsons
    )
    n_docker = check_dockerfile(known, errors)
    n_example = check_env_example(known, errors)
    if errors:
        print("environment names the binary does not know (or broken references):", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
        sys.exit(1)
    print(
        f"env names ok: {'; '.join(counts)} known; {n_k8s} Kubernetes containers, "
        f"{n_compose} compose services, {n_docker} Dockerfile ENV, {n_example} in .env.example"
    )


if __name__ == "__main__":
    main()
